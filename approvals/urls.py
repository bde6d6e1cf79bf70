"""Pages of the approvals app (mounted under /access/)."""

from django.urls import path

from approvals import views, views_reviews

app_name = "approvals"
urlpatterns = [
    # Requesters
    path("", views.my_requests, name="my_requests"),
    path("new", views.new_request, name="new_request"),
    path("requests/<uuid:pk>/", views.request_detail, name="request_detail"),
    path("requests/<uuid:pk>/withdraw", views.withdraw, name="withdraw"),
    # Approvers
    path("inbox/", views.inbox, name="inbox"),
    path("requests/<uuid:pk>/decide", views.decide, name="decide"),
    path("requests/<uuid:pk>/revoke", views.revoke, name="revoke"),
    path("review/<str:token>", views.review_link, name="review_link"),
    # The dataset catalog and approval policies
    path("datasets/", views.datasets, name="datasets"),
    path("datasets/new", views.dataset_create, name="dataset_create"),
    path("datasets/<slug:slug>/edit", views.dataset_edit, name="dataset_edit"),
    path("policies/new", views.policy_create, name="policy_create"),
    path("policies/<int:pk>/edit", views.policy_edit, name="policy_edit"),
    # Access reviews (campaigns, rounds, the reviewer's inbox) and the access report
    path("report/", views_reviews.access_report, name="access_report"),
    path("reviews/", views_reviews.campaigns, name="reviews"),
    path("reviews/<int:pk>/", views_reviews.campaign_detail, name="review_campaign"),
    path("reviews/rounds/<int:pk>/", views_reviews.round_report, name="review_round"),
    path("reviews/rounds/<int:pk>/export", views_reviews.round_export, name="review_round_export"),
    path("reviews/inbox/", views_reviews.review_inbox, name="review_inbox"),
    path("reviews/items/<int:pk>/decide", views_reviews.review_decide, name="review_decide"),
]
