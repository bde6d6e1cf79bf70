"""URL map. Every pattern here is covered by the authorization matrix test
(tests/security/test_authorization_matrix.py): a new URL without an entry fails it."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from portal import views

handler400 = "portal.errors.bad_request"
handler403 = "portal.views.forbidden"
handler404 = "portal.errors.page_not_found"
handler500 = "portal.errors.server_error"
handler429 = "portal.errors.too_many_requests"  # allauth's sign-in rate limit answers through this

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/", include("portal.identity.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("portal.account_urls")),
    path("catalog/", include("catalog.urls")),
    path("catalog/", include("workspaces.urls")),
    path("access/", include("approvals.urls")),
    path("audit/", include("audit.urls")),
    path("api/v1/", include("portal.api_urls")),
    path("scim/v2/", include("portal.scim.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("admin/", admin.site.urls),
]
