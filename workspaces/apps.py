from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from catalog import usage
        from workspaces.selectors import quota_counts

        usage.register_counter(quota_counts)
