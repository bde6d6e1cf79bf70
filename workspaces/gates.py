"""The seam through which a higher app gates a workspace request: today, approvals.

``workspaces`` knows that a template may need sign-off, not who gives it. The
approvals app registers an ``ApprovalGate`` at start-up (``ApprovalsConfig.ready``);
``workspaces.services.request_workspace`` calls ``gate().open(ws)`` inside its own
transaction after moving the workspace to ``pending_approval``, and
``delete_workspace`` calls ``gate().close(ws, actor=...)`` when the owner deletes a
workspace still awaiting a decision. The decision calls back into
``workspaces.services.approve_workspace`` / ``reject_workspace``, which approvals may
import because it sits above workspaces.

Fail closed: with no gate registered, a template that needs approval cannot be
requested at all (rather than being built without one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from workspaces.models import Workspace


class ApprovalGate(Protocol):
    def open(self, workspace: Workspace) -> None:
        """Put ``workspace`` in front of its approvers (inside the caller's transaction)."""

    def close(self, workspace: Workspace, *, actor: Any) -> None:
        """The owner withdrew ``workspace`` before anyone decided: take it out of the inbox."""


_gate: ApprovalGate | None = None


def register(gate: ApprovalGate) -> None:
    global _gate
    _gate = gate


def gate() -> ApprovalGate:
    if _gate is None:
        raise ImproperlyConfigured("No approval gate is registered: add the approvals app to INSTALLED_APPS.")
    return _gate
