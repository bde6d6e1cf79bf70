"""Reads for portal-wide pages. Each app contributes its dashboard panels through a
``dashboard_panels(user)`` function in its own selectors module."""

from __future__ import annotations

from importlib import import_module
from typing import Any

DASHBOARD_APPS = ("workspaces", "approvals", "audit")


def dashboard_panels(user: Any) -> list[dict[str, Any]]:
    """Panels the user's roles entitle them to, each a small dict a template renders."""
    panels: list[dict[str, Any]] = []
    for app in DASHBOARD_APPS:
        panels.extend(import_module(f"{app}.selectors").dashboard_panels(user))
    return panels
