"""The seam the workspace lifecycle calls when a template needs approval.

``workspaces.services.request_workspace`` calls ``workspace_needs_approval`` inside its
own transaction, after moving the workspace to ``pending_approval``; the approval then
lives in the same inbox, under the same rules (no self-approval, policy group, two
approvers for restricted data), and the decision calls back
``workspaces.services.approve_workspace`` / ``reject_workspace``.
"""

from __future__ import annotations

from approvals.models import AccessRequest
from workspaces.models import Workspace


def workspace_needs_approval(workspace: Workspace) -> AccessRequest:
    """Open a pending approval item of kind ``workspace`` for ``workspace``."""
    from approvals.services import create_workspace_approval

    return create_workspace_approval(workspace)
