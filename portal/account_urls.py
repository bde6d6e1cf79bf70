"""The user's own profile pages (API tokens)."""

urlpatterns: list = []  # type: ignore[type-arg]
