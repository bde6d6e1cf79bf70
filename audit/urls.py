"""Pages of the audit app (auditors and catalog admins)."""

from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("", views.events, name="events"),
    path("events/<int:seq>/", views.event, name="event"),
    path("verify/", views.verify, name="verify"),
    path("export/", views.export, name="export"),
    path("evidence/", views.evidence, name="evidence"),
]
