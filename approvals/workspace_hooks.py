"""The approvals side of the workspace seam (``workspaces.gates``).

Registered by ``ApprovalsConfig.ready``: when a template needs approval,
``workspaces.services.request_workspace`` opens a pending item of kind ``workspace``
here, in its own transaction; the item then lives in the same inbox under the same rules
(no self-approval, policy group, two approvers for restricted data), and the decision calls
back ``workspaces.services.approve_workspace`` / ``reject_workspace``. When the owner
deletes a workspace still awaiting approval, ``close`` withdraws its item.
"""

from __future__ import annotations

from typing import Any

from approvals import services
from workspaces.models import Workspace


class WorkspaceApprovalGate:
    def open(self, workspace: Workspace) -> None:
        services.create_workspace_approval(workspace)

    def close(self, workspace: Workspace, *, actor: Any) -> None:
        services.close_workspace_approval(workspace, actor=actor)
