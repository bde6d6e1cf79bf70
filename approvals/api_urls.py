"""REST API routes of the approvals app."""

urlpatterns: list = []  # type: ignore[type-arg]
