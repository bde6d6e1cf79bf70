"""The user's own pages: profile (API tokens) and notifications."""

from django.urls import path

from portal import notification_views, profile_views

urlpatterns = [
    path("profile/", profile_views.profile, name="profile"),
    path("profile/tokens/", profile_views.create_token, name="profile_token_create"),
    path("profile/tokens/<int:token_id>/revoke/", profile_views.revoke, name="profile_token_revoke"),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/<int:pk>/read", notification_views.read, name="notification_read"),
    path("notifications/read-all", notification_views.read_all, name="notifications_read_all"),
]
