"""REST API routes of the audit app."""

urlpatterns: list = []  # type: ignore[type-arg]
