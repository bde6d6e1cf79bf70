from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from approvals.workspace_hooks import WorkspaceApprovalGate
        from workspaces import gates

        gates.register(WorkspaceApprovalGate())

        from approvals import lifecycle

        lifecycle.connect()  # leavers' requests, grants and the approvals waiting on them (portal.lifecycle)
