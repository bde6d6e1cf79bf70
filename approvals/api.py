"""REST API for data access: /api/v1/datasets, /api/v1/access-requests (with approve, deny,
withdraw and revoke actions) and /api/v1/grants — the same services and permission checks as
the pages. Someone else's request is an audited 404."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from approvals import permissions, selectors, services
from approvals.exceptions import RequestNotFound
from approvals.models import AccessRequest, ApprovalPolicy, Dataset, Decision, Grant
from audit.services import record_denied
from core import limits
from core.roles import roles_of
from portal.api_parsing import StrictFieldsMixin, StrictSerializer


class HasRole(BasePermission):
    message = "This API is for Enclave users with a role."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and roles_of(request.user))


class CatalogAdminWrites(HasRole):
    message = "Only catalog admins add or edit datasets."

    def has_permission(self, request: Any, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in SAFE_METHODS or permissions.can_manage_catalog(request.user)


class DatasetSerializer(StrictFieldsMixin, serializers.ModelSerializer[Dataset]):
    policy = serializers.SlugRelatedField(slug_field="name", queryset=ApprovalPolicy.objects.all(), required=False)
    steward = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all(), required=False, allow_null=True
    )
    approver_group = serializers.CharField(source="policy.approver_group.name", read_only=True)
    max_duration_hours = serializers.IntegerField(source="policy.max_duration_hours", read_only=True)

    class Meta:
        model = Dataset
        fields = [
            "slug", "name", "description", "steward", "classification", "provider", "location", "policy", "active",
            "approver_group", "max_duration_hours", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs: dict[str, Any] = {"slug": {"validators": []}}


class DatasetViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Dataset],
):  # fmt: skip
    """The dataset catalog: everyone with a role reads it; catalog admins add and edit datasets."""

    serializer_class = DatasetSerializer
    permission_classes = [CatalogAdminWrites]
    lookup_field = "slug"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Dataset]:
        if permissions.can_view_catalog(self.request.user):
            return selectors.datasets()
        return selectors.requestable_datasets()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = DatasetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = services.create_dataset(request.user, **data.validated_data)
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        dataset = self.get_object()
        data = DatasetSerializer(dataset, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        dataset = services.update_dataset(request.user, dataset, **data.validated_data)
        return Response(DatasetSerializer(dataset).data)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)


class DecisionSerializer(serializers.ModelSerializer[Decision]):
    approver = serializers.CharField(source="approver.username", read_only=True)

    class Meta:
        model = Decision
        fields = ["approver", "verdict", "stage", "comment", "decided_at"]
        read_only_fields = fields


class GrantSerializer(serializers.ModelSerializer[Grant]):
    request = serializers.UUIDField(source="request_id", read_only=True)
    requester = serializers.CharField(source="request.requester.username", read_only=True)
    dataset = serializers.CharField(source="dataset.slug", read_only=True)
    workspace = serializers.UUIDField(source="workspace_id", read_only=True)
    request_state = serializers.CharField(source="request.state", read_only=True)

    class Meta:
        model = Grant
        fields = [
            "id", "request", "requester", "dataset", "workspace", "status", "request_state", "expires_at",
            "grant_ref", "attempts", "last_error", "applied_at", "removed_at",
        ]  # fmt: skip
        read_only_fields = fields


class AccessRequestSerializer(serializers.ModelSerializer[AccessRequest]):
    requester = serializers.CharField(source="requester.username", read_only=True)
    dataset = serializers.SerializerMethodField()
    workspace = serializers.UUIDField(source="workspace_id", read_only=True)
    approver_group = serializers.CharField(source="approver_group.name", read_only=True)
    still_needed = serializers.SerializerMethodField()
    decisions = serializers.SerializerMethodField()
    grant = serializers.SerializerMethodField()

    class Meta:
        model = AccessRequest
        fields = [
            "id", "kind", "requester", "dataset", "workspace", "justification", "duration_hours", "state",
            "approver_group", "approvals_required", "second_stage_approvals", "still_needed", "decisions", "grant",
            "created_at", "decided_at", "ended_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_dataset(self, req: AccessRequest) -> str | None:
        return req.dataset.slug if req.dataset else None

    def get_still_needed(self, req: AccessRequest) -> int | None:
        if req.state != "pending" or not hasattr(req, "stage_one"):
            return None
        return selectors.still_needed(req)

    def get_decisions(self, req: AccessRequest) -> list[dict[str, Any]]:
        decisions = getattr(req, "decision_list", None)
        if decisions is None:
            decisions = list(req.decisions.select_related("approver"))
        return list(DecisionSerializer(decisions, many=True).data)

    def get_grant(self, req: AccessRequest) -> dict[str, Any] | None:
        try:
            grant = req.grant
        except Grant.DoesNotExist:
            return None
        return {
            "id": str(grant.pk), "status": grant.status, "expires_at": grant.expires_at.isoformat(),
            "last_error": grant.last_error, "grant_ref": grant.grant_ref,
        }  # fmt: skip


class NewAccessRequestSerializer(StrictSerializer):
    dataset = serializers.SlugField()
    workspace = serializers.UUIDField()
    duration_hours = serializers.IntegerField(min_value=1)
    justification = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=limits.JUSTIFICATION_MAX
    )


class CommentSerializer(StrictSerializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.COMMENT_MAX)


class AccessRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[AccessRequest]):
    """Your requests (``?scope=mine``, the default), your approval inbox (``?scope=inbox``) or, for
    approvers, catalog admins and auditors, every request (``?scope=all``); make a request, decide,
    withdraw or revoke — under the same rules as the pages."""

    serializer_class = AccessRequestSerializer
    permission_classes = [HasRole]
    lookup_value_regex = "[0-9a-f-]{36}"

    def get_queryset(self) -> QuerySet[AccessRequest]:
        return selectors.requests_visible_to(self.request.user, scope=self.request.query_params.get("scope", "mine"))

    @extend_schema(parameters=[OpenApiParameter("scope", str, enum=["mine", "inbox", "all"])])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if request.query_params.get("scope") == "inbox":
            self.keyset_ordering = selectors.INBOX_ORDER
            page = self.paginate_queryset(selectors.inbox_requests(request.user))
            return self.get_paginated_response(AccessRequestSerializer(page, many=True).data)
        return super().list(request, *args, **kwargs)

    def get_object(self) -> AccessRequest:
        req, visible = selectors.request_for(self.request.user, self.kwargs["pk"])
        if req is None:
            raise RequestNotFound()
        if not visible:
            record_denied(
                actor=self.request.user, target=req, reason="may not see this access request",
                path=self.request.path, method=self.request.method,
            )  # fmt: skip
            raise RequestNotFound()
        return req

    def _fresh(self, req: AccessRequest) -> Response:
        reread, _ = selectors.request_for(self.request.user, req.pk)
        return Response(AccessRequestSerializer(reread or req).data)

    @extend_schema(request=NewAccessRequestSerializer, responses={201: AccessRequestSerializer})
    def create(self, request: Request) -> Response:
        data = NewAccessRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        req = services.request_access(
            request.user, v["dataset"], str(v["workspace"]), v["justification"], v["duration_hours"]
        )
        response = self._fresh(req)
        response.status_code = status.HTTP_201_CREATED
        return response

    def _comment(self) -> str:
        data = CommentSerializer(data=self.request.data)
        data.is_valid(raise_exception=True)
        return str(data.validated_data["comment"])

    @extend_schema(request=CommentSerializer, responses={200: AccessRequestSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._fresh(services.approve_request(request.user, pk, self._comment()))

    @extend_schema(request=CommentSerializer, responses={200: AccessRequestSerializer})
    @action(detail=True, methods=["post"])
    def deny(self, request: Request, pk: str) -> Response:
        return self._fresh(services.deny_request(request.user, pk, self._comment()))

    @extend_schema(request=None, responses={200: AccessRequestSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        return self._fresh(services.withdraw_request(request.user, pk))

    @extend_schema(request=CommentSerializer, responses={200: AccessRequestSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        return self._fresh(services.revoke_grant(request.user, pk, self._comment()))


class GrantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Grant]):
    """Grants with exactly what was applied in the cloud: your own, or every grant for approvers,
    catalog admins and auditors."""

    serializer_class = GrantSerializer
    permission_classes = [HasRole]
    lookup_value_regex = "[0-9a-f-]{36}"

    def get_queryset(self) -> QuerySet[Grant]:
        return selectors.grants_visible_to(self.request.user)
