from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from catalog import checks, usage
        from portal import health
        from workspaces.health import cloud_credentials, overdue_work
        from workspaces.publish_checks import boundary_policy_exists
        from workspaces.selectors import quota_counts

        checks.register("boundary_policy_exists", boundary_policy_exists)
        health.register("overdue workspaces", overdue_work)
        health.register("cloud credentials", cloud_credentials)
        usage.register_counter(quota_counts)

        from workspaces import lifecycle

        lifecycle.connect()  # leavers' and movers' workspaces (portal.lifecycle)
