"""Pages of the workspaces app."""

app_name = "workspaces"
urlpatterns: list = []  # type: ignore[type-arg]
