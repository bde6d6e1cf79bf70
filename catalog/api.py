"""REST API for the catalog: ``/api/v1/templates`` (and their versions) plus the baseline, price table
and role quotas under ``/api/v1/catalog/``.

Anyone with a role may read the templates they could request (catalog admins and auditors see all);
writes go through ``catalog.services``, which checks the catalog-admin role and audits
refusals. Published versions are immutable: PATCH on one answers 409 and points at the template,
whose PATCH creates a draft.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import baseline as baseline_rules
from catalog import selectors, services
from catalog.models import Classification, InstancePrice, Template, TemplateVersion, VersionStatus
from catalog.specs import SpecInvalid, parse_spec
from core import limits
from core.roles import Role, has_role, roles_of
from portal.api_parsing import StrictFieldsMixin, StrictSerializer


class HasEnclaveRole(BasePermission):
    message = "You need an Enclave role to use the catalog API."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(roles_of(request.user))


class CatalogReader(BasePermission):
    """Catalog admins read and write; auditors read (their writes are refused and audited)."""

    message = "This endpoint is for catalog admins (auditors may read it)."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return has_role(request.user, Role.CATALOG_ADMIN, Role.AUDITOR)
        return has_role(request.user, Role.CATALOG_ADMIN)


# --- serializers -------------------------------------------------------------------------------------


class VersionSerializer(serializers.ModelSerializer[TemplateVersion]):
    created_by: serializers.StringRelatedField[Any] = serializers.StringRelatedField()
    published_by: serializers.StringRelatedField[Any] = serializers.StringRelatedField()
    baseline_version = serializers.IntegerField(source="published_against.version", allow_null=True, default=None)

    class Meta:
        model = TemplateVersion
        fields = [
            "number",
            "status",
            "spec",
            "changelog",
            "created_by",
            "created_at",
            "published_by",
            "published_at",
            "baseline_version",
            "retired_at",
        ]
        read_only_fields = fields


class EstimateSerializer(serializers.Serializer[Any]):
    hourly = serializers.DecimalField(max_digits=10, decimal_places=4)
    currency = serializers.CharField()
    size = serializers.CharField()


class TemplateSerializer(serializers.ModelSerializer[Template]):
    published_version = serializers.SerializerMethodField()
    guarantees = serializers.SerializerMethodField()
    hourly_estimate = serializers.SerializerMethodField()

    class Meta:
        model = Template
        fields = [
            "slug",
            "name",
            "provider",
            "description",
            "intended_use",
            "classifications",
            "needs_approval",
            "max_workspaces_per_user",
            "published_version",
            "guarantees",
            "hourly_estimate",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _published(self, obj: Template) -> TemplateVersion | None:
        cached = getattr(obj, "published_versions", None)
        if cached is not None:
            return cached[0] if cached else None
        return selectors.published_version(obj)

    @extend_schema_field(VersionSerializer(allow_null=True))
    def get_published_version(self, obj: Template) -> dict[str, Any] | None:
        version = self._published(obj)
        return VersionSerializer(version).data if version else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_guarantees(self, obj: Template) -> list[str]:
        version = self._published(obj)
        if version is None:
            return []
        try:
            return baseline_rules.guarantees(obj.provider, parse_spec(obj.provider, version.spec))
        except SpecInvalid:
            return []

    @extend_schema_field(EstimateSerializer(allow_null=True))
    def get_hourly_estimate(self, obj: Template) -> dict[str, Any] | None:
        version = self._published(obj)
        if version is None:
            return None
        prices = self.context.get("prices")
        if prices is None:
            prices = selectors.price_index()
        estimate = selectors.estimate_for(obj.provider, parse_spec(obj.provider, version.spec), prices)
        if estimate is None:
            return None
        return {"hourly": str(estimate.hourly), "currency": estimate.currency, "size": estimate.size}


class TemplateWriteSerializer(StrictSerializer):
    slug = serializers.SlugField(max_length=60)
    name = serializers.CharField(max_length=120)
    provider = serializers.ChoiceField(choices=sorted(selectors.PROVIDER_LABELS))
    description = serializers.CharField(max_length=limits.DESCRIPTION_MAX)
    intended_use = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=limits.DESCRIPTION_MAX
    )
    classifications = serializers.ListField(child=serializers.ChoiceField(choices=Classification.values))
    needs_approval = serializers.BooleanField(required=False, default=False)
    max_workspaces_per_user = serializers.IntegerField(min_value=1, max_value=50, required=False, default=2)
    spec = serializers.DictField(help_text="The provider's hardened spec (see the schemas in catalog.specs).")
    changelog = serializers.CharField(required=False, allow_blank=True, default="", max_length=limits.CHANGELOG_MAX)


class TemplatePatchSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(required=False, max_length=limits.DESCRIPTION_MAX)
    intended_use = serializers.CharField(required=False, allow_blank=True, max_length=limits.DESCRIPTION_MAX)
    classifications = serializers.ListField(
        child=serializers.ChoiceField(choices=Classification.values), required=False
    )
    needs_approval = serializers.BooleanField(required=False)
    max_workspaces_per_user = serializers.IntegerField(min_value=1, max_value=50, required=False)
    spec = serializers.DictField(required=False, help_text="A changed spec is saved as the draft version.")
    changelog = serializers.CharField(required=False, allow_blank=True, max_length=limits.CHANGELOG_MAX)


class VersionPatchSerializer(StrictSerializer):
    spec = serializers.DictField(required=False)
    changelog = serializers.CharField(required=False, allow_blank=True, max_length=limits.CHANGELOG_MAX)


ViolationSerializer = inline_serializer(
    "BaselineRefusal",
    fields={
        "error": serializers.CharField(),
        "detail": serializers.CharField(),
        "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
        "violations": serializers.ListField(child=serializers.DictField()),
    },
)


# --- templates -----------------------------------------------------------------------------------------


class TemplateViewSet(viewsets.GenericViewSet[Template]):
    """Catalog templates. Everyone with a role lists/reads those they could request; catalog admins
    (and auditors, read-only) see every template and its versions."""

    permission_classes = [HasEnclaveRole]
    serializer_class = TemplateSerializer
    lookup_field = "slug"
    lookup_value_regex = "[a-z0-9-]+"
    queryset = Template.objects.none()

    def get_queryset(self) -> Any:
        return selectors.templates_visible_to(self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        context["prices"] = selectors.price_index() if self.action in ("list", "retrieve") else None
        return context

    def _version(self, template: Template, number: str) -> TemplateVersion:
        if not has_role(self.request.user, Role.CATALOG_ADMIN, Role.AUDITOR):
            raise exceptions.NotFound()
        version = selectors.version_of(template, int(number))
        if version is None:
            raise exceptions.NotFound()
        return version

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    def retrieve(self, request: Request, slug: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=TemplateWriteSerializer, responses={201: VersionSerializer})
    def create(self, request: Request) -> Response:
        services.require_catalog_admin(request.user, "create templates")
        data = TemplateWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        version = services.create_template(
            request.user,
            slug=values.pop("slug"),
            provider=values.pop("provider"),
            spec=values.pop("spec"),
            changelog=values.pop("changelog"),
            **values,
        )
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=TemplatePatchSerializer,
        responses={200: TemplateSerializer},
        description="Change catalog fields; a changed `spec` is saved as the draft version (a new draft when "
        "the current version is published — published versions never change).",
    )
    def partial_update(self, request: Request, slug: str) -> Response:
        template = self.get_object()
        services.require_catalog_admin(request.user, "edit templates", template)
        data = TemplatePatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        spec = values.pop("spec", None)
        changelog = values.pop("changelog", "")
        if spec is not None:
            services.edit_template(request.user, template, spec=spec, changelog=changelog, **values)
        elif values:
            services.update_template(request.user, template, **values)
        template = selectors.templates_visible_to(request.user).get(pk=template.pk)
        return Response(self.get_serializer(template).data)

    @extend_schema(responses={200: VersionSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="versions")
    def versions(self, request: Request, slug: str) -> Response:
        template = self.get_object()
        if not has_role(request.user, Role.CATALOG_ADMIN, Role.AUDITOR):
            versions = [v for v in [selectors.published_version(template)] if v is not None]
        else:
            versions = list(selectors.versions_of(template))
        return Response(VersionSerializer(versions, many=True).data)

    @extend_schema(
        methods=["PATCH"],
        request=VersionPatchSerializer,
        responses={200: VersionSerializer, 409: OpenApiResponse(description="The version is not a draft.")},
    )
    @extend_schema(methods=["GET"], responses={200: VersionSerializer})
    @action(detail=True, methods=["get", "patch"], url_path=r"versions/(?P<number>[0-9]+)")
    def version(self, request: Request, slug: str, number: str) -> Response:
        template = self.get_object()
        version = self._version(template, number)
        if request.method == "GET":
            return Response(VersionSerializer(version).data)
        services.require_catalog_admin(request.user, "edit template versions", version)
        if version.status != VersionStatus.DRAFT:
            raise services.VersionStateConflict(
                f"v{version.number} is {version.status} and immutable; PATCH /api/v1/templates/{template.slug} "
                "with a spec to create a new draft."
            )
        data = VersionPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        draft = services.save_draft(
            request.user,
            template,
            spec=data.validated_data.get("spec", version.spec),
            changelog=data.validated_data.get("changelog", ""),
        )
        return Response(VersionSerializer(draft).data)

    @extend_schema(request=None, responses={200: VersionSerializer, 400: ViolationSerializer})
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>[0-9]+)/publish")
    def publish(self, request: Request, slug: str, number: str) -> Response:
        template = self.get_object()
        version = self._version(template, number)
        try:
            version = services.publish_version(request.user, version)
        except services.BaselineViolation as exc:
            body = {
                "error": exc.code,
                "detail": exc.message,
                "fields": exc.field_errors,
                "violations": [v.as_dict() for v in exc.violations],
            }
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(VersionSerializer(version).data)

    @extend_schema(request=None, responses={200: VersionSerializer})
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>[0-9]+)/retire")
    def retire(self, request: Request, slug: str, number: str) -> Response:
        template = self.get_object()
        version = services.retire_version(request.user, self._version(template, number))
        return Response(VersionSerializer(version).data)


# --- baseline, prices, quotas ----------------------------------------------------------------------------


class BaselineSerializer(StrictSerializer):
    version = serializers.IntegerField(read_only=True)
    max_idle_minutes = serializers.IntegerField(min_value=5, max_value=1440)
    max_volume_gb = serializers.IntegerField(min_value=5, max_value=16384)
    mandatory_tag_keys = serializers.ListField(child=serializers.CharField(max_length=128))
    allowed_instance_types = serializers.ListField(child=serializers.CharField(max_length=40))
    allowed_vm_sizes = serializers.ListField(child=serializers.CharField(max_length=40))
    change_note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    created_at = serializers.DateTimeField(read_only=True, allow_null=True)


class BaselineView(APIView):
    """The current security baseline; PUT saves the next version (catalog admins)."""

    permission_classes = [CatalogReader]

    @extend_schema(responses={200: BaselineSerializer})
    def get(self, request: Request) -> Response:
        return Response(BaselineSerializer(baseline_rules.current_baseline()).data)

    @extend_schema(request=BaselineSerializer, responses={201: BaselineSerializer})
    def put(self, request: Request) -> Response:
        data = BaselineSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy = services.change_baseline(request.user, **data.validated_data)
        return Response(BaselineSerializer(policy).data, status=status.HTTP_201_CREATED)


class PriceSerializer(StrictFieldsMixin, serializers.ModelSerializer[InstancePrice]):
    updated_by: serializers.StringRelatedField[Any] = serializers.StringRelatedField(read_only=True)

    class Meta:
        model = InstancePrice
        fields = ["provider", "size", "hourly_price", "currency", "updated_by", "updated_at"]
        read_only_fields = ["updated_by", "updated_at"]
        validators: list[Any] = []  # upsert: uniqueness is the service's business


class PricesView(APIView):
    """The price table; POST creates or changes one row (catalog admins)."""

    permission_classes = [CatalogReader]

    @extend_schema(responses={200: PriceSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(PriceSerializer(selectors.price_table(), many=True).data)

    @extend_schema(request=PriceSerializer, responses={200: PriceSerializer})
    def post(self, request: Request) -> Response:
        data = PriceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.set_price(request.user, **data.validated_data)
        return Response(PriceSerializer(row).data)


class QuotaSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices)
    max_running = serializers.IntegerField(min_value=0, max_value=100)
    max_total = serializers.IntegerField(min_value=0, max_value=100)
    configured = serializers.BooleanField(read_only=True)


class QuotasView(APIView):
    """Per-role workspace quotas; POST sets one role's quota (catalog admins)."""

    permission_classes = [CatalogReader]

    @extend_schema(responses={200: QuotaSerializer(many=True)})
    def get(self, request: Request) -> Response:
        rows = [
            {"role": q.role.value, "max_running": q.max_running, "max_total": q.max_total, "configured": q.configured}
            for q in selectors.role_quotas()
        ]
        return Response(QuotaSerializer(rows, many=True).data)

    @extend_schema(request=QuotaSerializer, responses={200: QuotaSerializer})
    def post(self, request: Request) -> Response:
        data = QuotaSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.set_role_quota(request.user, **data.validated_data)
        body = {"role": row.role, "max_running": row.max_running, "max_total": row.max_total, "configured": True}
        return Response(QuotaSerializer(body).data)
