"""REST API v1: each app registers its viewsets on this one router."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import DefaultRouter

router = DefaultRouter(trailing_slash=False)
router.include_root_view = False

urlpatterns = [
    path("", include("catalog.api_urls")),
    path("", include("workspaces.api_urls")),
    path("", include("approvals.api_urls")),
    path("", include("audit.api_urls")),
]
