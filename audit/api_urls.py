"""REST API routes of the audit app (read-only, auditors)."""

from django.urls import path

from audit import api

urlpatterns = [
    path("audit-events", api.AuditEventList.as_view(), name="api-audit-events"),
    path("audit-events/<int:seq>", api.AuditEventDetail.as_view(), name="api-audit-event"),
]
