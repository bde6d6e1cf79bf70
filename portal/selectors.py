"""Reads for portal-wide pages. Each app contributes its dashboard panels through a
``dashboard_panels(user)`` function in its own selectors module, listed by dotted path in
``settings.DASHBOARD_PANELS`` (the way Django lists middleware), so portal imports no app above it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string


def dashboard_panels(user: Any) -> list[dict[str, Any]]:
    """Panels the user's roles entitle them to, each a small dict a template renders."""
    panels: list[dict[str, Any]] = []
    for path in settings.DASHBOARD_PANELS:
        panels.extend(import_string(path)(user))
    return panels
