"""REST API routes of the workspaces app."""

urlpatterns: list = []  # type: ignore[type-arg]
