"""Pages of the approvals app."""

app_name = "approvals"
urlpatterns: list = []  # type: ignore[type-arg]
