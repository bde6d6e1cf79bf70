"""REST API routes of the catalog:
/api/v1/templates[/<slug>[/versions[/<n>[/publish|/retire]]]] and /api/v1/catalog/*."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from catalog import api

_catalog_router = SimpleRouter(trailing_slash=False)
_catalog_router.register("templates", api.TemplateViewSet, basename="template")
urlpatterns = [
    *_catalog_router.urls,
    path("catalog/baseline", api.BaselineView.as_view(), name="catalog-baseline"),
    path("catalog/prices", api.PricesView.as_view(), name="catalog-prices"),
    path("catalog/quotas", api.QuotasView.as_view(), name="catalog-quotas"),
]
