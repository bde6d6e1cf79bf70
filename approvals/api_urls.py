"""REST API routes of the approvals app: /api/v1/datasets, /api/v1/access-requests
(and their approve / deny / withdraw / revoke actions), /api/v1/grants."""

from rest_framework.routers import SimpleRouter

from approvals import api

_router = SimpleRouter(trailing_slash=False)
_router.register("datasets", api.DatasetViewSet, basename="dataset")
_router.register("access-requests", api.AccessRequestViewSet, basename="access-request")
_router.register("grants", api.GrantViewSet, basename="grant")
urlpatterns = _router.urls
