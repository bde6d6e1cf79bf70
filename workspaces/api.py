"""REST API for workspaces (/api/v1/workspaces): a scientist's own workspaces and the
same actions as the pages, through the same services and permission checks. Someone
else's workspace is an audited 404."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from audit.services import record_denied
from portal.roles import Role, has_role
from workspaces import selectors, services
from workspaces.exceptions import WorkspaceNotFound
from workspaces.models import Workspace
from workspaces.permissions import can_operate


class IsDataScientist(BasePermission):
    message = "Workspaces are for the data scientist role."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and has_role(request.user, Role.DATA_SCIENTIST))


class WorkspaceSerializer(serializers.ModelSerializer[Workspace]):
    template = serializers.CharField(source="template_version.template.slug", read_only=True)
    template_version = serializers.IntegerField(source="template_version.number", read_only=True)
    running_hours = serializers.SerializerMethodField()

    class Meta:
        model = Workspace
        fields = [
            "id", "name", "template", "template_version", "provider", "instance_type", "volume_size_gb",
            "data_classification", "cost_centre", "resource_name", "state", "cloud_status", "applied_hardening",
            "last_error", "last_error_code", "drift", "running_since", "running_hours", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_running_hours(self, ws: Workspace) -> float:
        return round(selectors.running_seconds(ws) / 3600, 2)


class WorkspaceRequestSerializer(serializers.Serializer[Any]):
    template = serializers.SlugField()
    name = serializers.CharField(max_length=60)
    instance_type = serializers.CharField(max_length=40)
    volume_size_gb = serializers.IntegerField(required=False, allow_null=True)
    data_classification = serializers.CharField(max_length=20)
    cost_centre = serializers.CharField(max_length=64, required=False, allow_blank=True)


OpenSerializer = inline_serializer("WorkspaceOpen", {"url": serializers.URLField()})


class WorkspaceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Workspace]):
    """List and read your workspaces, request one, and stop / start / delete / retry / open it."""

    serializer_class = WorkspaceSerializer
    permission_classes = [IsDataScientist]
    lookup_value_regex = "[0-9a-f-]{36}"

    def get_queryset(self) -> QuerySet[Workspace]:
        return selectors.workspaces_of(self.request.user)

    def get_object(self) -> Workspace:
        """Own workspaces only; anyone else's is an audited 404 (existence is not revealed)."""
        ws, _ = selectors.workspace_for(self.request.user, self.kwargs["pk"])
        if ws is None:
            raise WorkspaceNotFound()
        if not can_operate(self.request.user, ws):
            record_denied(
                actor=self.request.user,
                target=ws,
                reason="not the owner of this workspace",
                path=self.request.path,
                method=self.request.method,
            )
            raise WorkspaceNotFound()
        return ws

    @extend_schema(request=WorkspaceRequestSerializer, responses={201: WorkspaceSerializer})
    def create(self, request: Request) -> Response:
        data = WorkspaceRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        ws = services.request_workspace(
            request.user,
            v["template"],
            v["name"],
            v["instance_type"],
            v.get("volume_size_gb"),
            v["data_classification"],
            v.get("cost_centre") or None,
        )
        return Response(WorkspaceSerializer(ws).data, status=status.HTTP_201_CREATED)

    def _act(self, service: Any) -> Response:
        ws = service(self.request.user, self.get_object())
        return Response(WorkspaceSerializer(ws).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: WorkspaceSerializer})
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str) -> Response:
        return self._act(services.stop_workspace)

    @extend_schema(request=None, responses={202: WorkspaceSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str) -> Response:
        return self._act(services.start_workspace)

    @extend_schema(request=None, responses={202: WorkspaceSerializer})
    @action(detail=True, methods=["post"], url_path="delete", url_name="delete")
    def delete_workspace(self, request: Request, pk: str) -> Response:
        return self._act(services.delete_workspace)

    @extend_schema(request=None, responses={202: WorkspaceSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        return self._act(services.retry_workspace)

    @extend_schema(request=None, responses={200: OpenSerializer})
    @action(detail=True, methods=["post"], url_path="open", url_name="open")
    def open_notebook(self, request: Request, pk: str) -> Response:
        """A short-lived sign-in URL to your running notebook (minted now, never stored)."""
        url = services.open_workspace(request.user, self.get_object())
        response = Response({"url": url})
        response["Cache-Control"] = "no-store"
        return response
