"""Read-only REST API of the audit trail: ``/api/v1/audit-events`` (filterable, cursor
pagination, newest first) and ``/api/v1/audit-events/<seq>``. Auditors only; every
refusal is audited by ``portal.api_errors``. There is no write method."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission

from audit.filters import EventFilterForm
from audit.models import AuditEvent
from core.roles import Role, has_role


class IsAuditor(BasePermission):
    message = "The audit API is for auditors."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and has_role(request.user, Role.AUDITOR))


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields = [
            "seq", "at", "actor_id", "actor_label", "actor_roles", "actor_ip", "user_agent", "action", "target_type",
            "target_id", "target_display", "outcome", "details", "request_id", "prev_hash", "hash",
        ]  # fmt: skip
        read_only_fields = fields


FILTER_PARAMS = [
    OpenApiParameter("since", str, description="ISO date or date-time (UTC if no offset), inclusive"),
    OpenApiParameter("until", str, description="ISO date or date-time, exclusive; a bare date includes that day"),
    OpenApiParameter("actor", str, description="username, or a system actor label such as task:audit.verify_chain"),
    OpenApiParameter("action", str, description="e.g. workspace.requested"),
    OpenApiParameter("outcome", str, enum=["success", "denied", "error"]),
    OpenApiParameter("target_type", str, description="e.g. workspaces.workspace"),
    OpenApiParameter("target_id", str),
    OpenApiParameter("request_id", str),
]


@extend_schema(parameters=FILTER_PARAMS)
class AuditEventList(generics.ListAPIView[AuditEvent]):
    """Audit events, newest first, filtered like the auditor's page; follow ``next``."""

    serializer_class = AuditEventSerializer
    permission_classes = [IsAuditor]
    keyset_ordering = ("-seq",)  # read by the API's default paginator (portal.pagination.KeysetPagination)

    def get_queryset(self) -> QuerySet[AuditEvent]:
        form = EventFilterForm(self.request.query_params)
        if not form.is_valid():
            raise ValidationError({field: [str(e) for e in errors] for field, errors in form.errors.items()})
        return form.to_filter().apply(AuditEvent.objects.all())


class AuditEventDetail(generics.RetrieveAPIView[AuditEvent]):
    """One audit event by sequence number."""

    serializer_class = AuditEventSerializer
    permission_classes = [IsAuditor]
    queryset = AuditEvent.objects.all()
    lookup_field = "seq"
