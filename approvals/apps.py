from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from approvals import history, review_tasks  # noqa: F401 - registers the review tasks
        from approvals.workspace_hooks import WorkspaceApprovalGate
        from workspaces import gates

        gates.register(WorkspaceApprovalGate())
        history.connect()
