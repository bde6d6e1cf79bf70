"""The user's own profile pages (API tokens)."""

from django.urls import path

from portal import profile_views

urlpatterns = [
    path("profile/", profile_views.profile, name="profile"),
    path("profile/tokens/", profile_views.create_token, name="profile_token_create"),
    path("profile/tokens/<int:token_id>/revoke/", profile_views.revoke, name="profile_token_revoke"),
]
