from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from catalog import checks
        from workspaces.publish_checks import boundary_policy_exists

        checks.register("boundary_policy_exists", boundary_policy_exists)
