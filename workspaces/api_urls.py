"""REST API routes of the workspaces app."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from workspaces import api, catalog_api

urlpatterns: list = []  # type: ignore[type-arg]

# The catalog: /api/v1/templates[/<slug>[/versions[/<n>[/publish|/retire]]]] and /api/v1/catalog/*.
_catalog_router = SimpleRouter(trailing_slash=False)
_catalog_router.register("templates", catalog_api.TemplateViewSet, basename="template")
urlpatterns += [
    *_catalog_router.urls,
    path("catalog/baseline", catalog_api.BaselineView.as_view(), name="catalog-baseline"),
    path("catalog/prices", catalog_api.PricesView.as_view(), name="catalog-prices"),
    path("catalog/quotas", catalog_api.QuotasView.as_view(), name="catalog-quotas"),
]

# The workspace lifecycle: /api/v1/workspaces[/<id>[/stop|/start|/delete|/retry|/open]].
_workspace_router = SimpleRouter(trailing_slash=False)
_workspace_router.register("workspaces", api.WorkspaceViewSet, basename="workspace")
urlpatterns += _workspace_router.urls
