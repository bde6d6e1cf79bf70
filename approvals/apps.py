from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from approvals import history, review_tasks  # noqa: F401 - registers the review tasks
        from approvals.services.grants import overdue_grants_check, resend_overdue
        from approvals.workspace_hooks import WorkspaceApprovalGate
        from portal import health
        from workspaces import gates, sweeper

        gates.register(WorkspaceApprovalGate())
        history.connect()
        sweeper.register("grants", resend_overdue)
        health.register("overdue grants", overdue_grants_check)

        from approvals import lifecycle

        lifecycle.connect()  # leavers' requests, grants and the approvals waiting on them (portal.lifecycle)
