from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from workspaces import lifecycle

        lifecycle.connect()  # leavers' and movers' workspaces (portal.lifecycle)
