"""The seam the workspace lifecycle calls when a template needs approval.

``workspaces.services.request_workspace`` calls ``workspace_needs_approval`` inside its
own transaction, after moving the workspace to ``pending_approval``; the approval then
lives in the same inbox, under the same rules (no self-approval, policy group, two
approvers for restricted data), and the decision calls back
``workspaces.services.approve_workspace`` / ``reject_workspace``. When the owner deletes
a workspace still awaiting approval, ``workspace_request_closed`` withdraws its item.
"""

from __future__ import annotations

from typing import Any

from approvals.models import AccessRequest
from workspaces.models import Workspace


def workspace_needs_approval(workspace: Workspace) -> AccessRequest:
    """Open a pending approval item of kind ``workspace`` for ``workspace``."""
    from approvals.services import create_workspace_approval

    return create_workspace_approval(workspace)


def workspace_request_closed(workspace: Workspace, *, actor: Any) -> None:
    """The owner deleted ``workspace`` before anyone decided: withdraw its pending approval item
    (inside the deletion's transaction) so approvers are not asked about a workspace that is gone."""
    from approvals.services import close_workspace_approval

    close_workspace_approval(workspace, actor=actor)
