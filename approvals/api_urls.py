"""REST API routes of the approvals app: /api/v1/datasets, /api/v1/access-requests
(and their approve / deny / withdraw / revoke actions), /api/v1/grants; access reviews
(/api/v1/access-reviews, /api/v1/access-review-rounds, /api/v1/access-review-items) and
/api/v1/access-report."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from approvals import api, api_reviews

_router = SimpleRouter(trailing_slash=False)
_router.register("datasets", api.DatasetViewSet, basename="dataset")
_router.register("access-requests", api.AccessRequestViewSet, basename="access-request")
_router.register("grants", api.GrantViewSet, basename="grant")
_router.register("access-reviews", api_reviews.CampaignViewSet, basename="access-review")
_router.register("access-review-rounds", api_reviews.RoundViewSet, basename="access-review-round")
_router.register("access-review-items", api_reviews.ReviewItemViewSet, basename="access-review-item")
urlpatterns = [
    path("access-report", api_reviews.AccessReportView.as_view(), name="access-report"),
    *_router.urls,
]
