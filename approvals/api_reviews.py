"""REST API of access reviews and the access report: /api/v1/access-report, /api/v1/access-reviews
(campaigns), /api/v1/access-review-rounds (the campaign report, ``?export=csv``) and
/api/v1/access-review-items (the reviewer's inbox and ``decide``). Same services, selectors and
permission predicates as the pages; input serializers reject unknown fields and bound every length."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals import permissions, selectors_report, selectors_reviews
from approvals.api import HasRole
from approvals.models import Dataset, NoAnswer, Recurrence, ReviewCampaign, ReviewItem, ReviewRound, ReviewScope
from approvals.services import reviews
from audit.actions import Action
from audit.services import record, record_denied
from core.roles import Role, has_role


class StrictSerializer(serializers.Serializer[Any]):
    """Refuses fields it does not declare, so a typo or an injected field is an error, not ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


# --- the access report -----------------------------------------------------------------------------------


class ReportQuerySerializer(StrictSerializer):
    dataset = serializers.SlugField(required=False, max_length=60)
    user = serializers.CharField(required=False, max_length=150)
    on = serializers.DateField(required=False)
    to = serializers.DateField(required=False)
    export = serializers.ChoiceField(choices=["csv"], required=False)

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False)
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("dataset") or attrs.get("user")):
            raise serializers.ValidationError("Give a dataset or a user.")
        try:
            attrs["window"] = selectors_report.parse_window(
                *(str(attrs[k]) if attrs.get(k) else None for k in ("on", "from", "to"))
            )
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return attrs


def _dt(value: Any) -> str | None:
    return value.isoformat() if value else None


def report_json(report: selectors_report.AccessReport) -> dict[str, Any]:
    return {
        "dataset": report.dataset.slug if report.dataset else None,
        "user": report.user.get_username() if report.user else None,
        "from": report.window.first.isoformat(),
        "to": report.window.last.isoformat(),
        "grants": [
            {
                "grant": row.grant_id, "request": row.request_id, "dataset": row.dataset,
                "classification": row.classification, "requester": row.requester, "workspace": row.workspace_id,
                "workspace_name": row.workspace, "principal": row.principal, "justification": row.justification,
                "approvers": [{**a, "decided_at": _dt(a["decided_at"])} for a in row.approvers],
                "start": _dt(row.start), "end": _dt(row.end), "expires_at": _dt(row.expires_at), "ended": row.ended,
                "ended_at": _dt(row.ended_at), "ended_by": row.ended_by, "end_reason": row.end_reason,
                "removed_at": _dt(row.removed_at),
                "facts": [{"fact": f.kind, "at": _dt(f.at), "by": f.by, "detail": f.detail, "audit_seq": f.seq}
                          for f in row.facts],
            }
            for row in report.rows
        ],
        "approvers": [
            {"username": a.username, "group": a.group, "from": _dt(a.start), "to": _dt(a.end),
             "since_history_began": a.since_history_began}
            for a in report.approvers
        ],
    }  # fmt: skip


class AccessReportView(APIView):
    """Every grant through which a dataset (or, for auditors and catalog admins, a user) had read
    access on a day (``on``) or over a range (``from``, ``to``); ``export=csv`` for the CSV."""

    permission_classes = [HasRole]

    @extend_schema(parameters=[ReportQuerySerializer], responses={200: dict})
    def get(self, request: Request) -> Response | HttpResponse:
        query = ReportQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        v = query.validated_data
        full = has_role(request.user, Role.AUDITOR, Role.CATALOG_ADMIN)
        dataset = None
        if v.get("dataset"):
            dataset = Dataset.objects.select_related("policy").filter(slug=v["dataset"]).first()
            if dataset is None or not permissions.can_read_access_report(request.user, dataset):
                record_denied(
                    actor=request.user, target=("approvals.dataset", v["dataset"], v["dataset"]),
                    reason="may not report on this dataset", path=request.path, method=request.method,
                )  # fmt: skip
                raise NotFound("No such dataset.")
        user = None
        if v.get("user"):
            if not full:
                raise PermissionDenied("Only auditors and catalog admins report on a user.")
            user = selectors_report.find_user(v["user"])
            if user is None:
                raise NotFound("No such user.")
        report = selectors_report.access_report(v["window"], dataset=dataset, user=user)
        if v.get("export") == "csv":
            record(action=Action.ACCESS_REPORT_EXPORTED, actor=request.user, target=dataset,
                   details={"report": "access", "dataset": dataset.slug if dataset else None,
                            "user": v.get("user"), "window": report.window.label(), "rows": len(report.rows),
                            "format": "csv"})  # fmt: skip
            return HttpResponse(selectors_report.report_csv(report), content_type="text/csv; charset=utf-8")
        return Response(report_json(report))


# --- campaigns, rounds, items --------------------------------------------------------------------------------


class CampaignSerializer(serializers.ModelSerializer[ReviewCampaign]):
    datasets: Any = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    fallback_group = serializers.CharField(source="fallback_group.name", read_only=True, default=None, allow_null=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = ReviewCampaign
        fields = ["id", "name", "scope", "datasets", "recurrence", "duration_days", "on_no_answer", "fallback_group",
                  "next_run_at", "active", "created_by", "created_at"]  # fmt: skip
        read_only_fields = fields


class NewCampaignSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    scope = serializers.ChoiceField(choices=ReviewScope.choices, default=ReviewScope.SENSITIVE)
    datasets = serializers.ListField(child=serializers.SlugField(max_length=60), max_length=1000, default=list)
    recurrence = serializers.ChoiceField(choices=Recurrence.choices, default=Recurrence.QUARTERLY)
    duration_days = serializers.IntegerField(min_value=1, max_value=90, default=14)
    on_no_answer = serializers.ChoiceField(choices=NoAnswer.choices, default=NoAnswer.REVOKE)
    fallback_group = serializers.CharField(max_length=150, required=False, allow_null=True, default=None)
    first_run_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate_datasets(self, slugs: list[str]) -> list[Dataset]:
        found = list(Dataset.objects.filter(slug__in=slugs))
        missing = sorted(set(slugs) - {d.slug for d in found})
        if missing:
            raise serializers.ValidationError(f"No such dataset: {', '.join(missing)}.")
        return found

    def validate_fallback_group(self, name: str | None) -> Group | None:
        if not name:
            return None
        group = Group.objects.filter(name=name).first()
        if group is None:
            raise serializers.ValidationError("No such group.")
        return group


class RoundSerializer(serializers.ModelSerializer[ReviewRound]):
    campaign = serializers.CharField(source="campaign.name", read_only=True)
    items = serializers.SerializerMethodField()

    class Meta:
        model = ReviewRound
        fields = ["id", "campaign", "started_at", "deadline", "reminded_at", "escalated_at", "closed_at", "items"]
        read_only_fields = fields

    def get_items(self, rnd: ReviewRound) -> list[dict[str, Any]]:
        return [_item_json(item) for item in selectors_reviews.round_items(rnd)]


def _item_json(item: ReviewItem) -> dict[str, Any]:
    return {
        "id": item.pk, "round": item.round_id, "dataset": item.dataset.slug, "holder": item.holder.get_username(),
        "grant": str(item.grant_id), "workspace": str(item.grant.workspace_id),
        "reviewer": item.reviewer.get_username() if item.reviewer else None, "on_no_answer": item.on_no_answer,
        "outcome": item.outcome, "decided_by": item.decided_by.get_username() if item.decided_by else None,
        "decided_at": _dt(item.decided_at), "reason": item.reason,
        "removal_confirmed_at": _dt(item.grant.removed_at),
    }  # fmt: skip


class ReviewItemSerializer(serializers.Serializer[Any]):
    """The shape of a review item in the inbox and the campaign report (read-only)."""

    id = serializers.IntegerField(read_only=True)
    round = serializers.IntegerField(read_only=True)
    dataset = serializers.CharField(read_only=True)
    holder = serializers.CharField(read_only=True)
    grant = serializers.UUIDField(read_only=True)
    workspace = serializers.UUIDField(read_only=True)
    reviewer = serializers.CharField(read_only=True, allow_null=True)
    on_no_answer = serializers.ChoiceField(choices=NoAnswer.choices, read_only=True)
    outcome = serializers.CharField(read_only=True)
    decided_by = serializers.CharField(read_only=True, allow_null=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    reason = serializers.CharField(read_only=True)
    removal_confirmed_at = serializers.DateTimeField(read_only=True, allow_null=True)


class ReviewReaders(HasRole):
    message = "Access reviews are for catalog admins and auditors."

    def has_permission(self, request: Any, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in SAFE_METHODS:
            return permissions.can_view_reviews(request.user)
        return permissions.can_manage_reviews(request.user)


class CampaignViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[ReviewCampaign]
):
    """Review campaigns: catalog admins define them; catalog admins and auditors read them."""

    serializer_class = CampaignSerializer
    permission_classes = [ReviewReaders]

    def get_queryset(self) -> QuerySet[ReviewCampaign]:
        return selectors_reviews.campaigns().prefetch_related("datasets").order_by("pk")

    @extend_schema(request=NewCampaignSerializer, responses={201: CampaignSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = NewCampaignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = reviews.create_campaign(actor=request.user, **data.validated_data)
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class RoundViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet[ReviewRound]):
    """One round's campaign report: who reviewed what, when, the outcome, when removal was confirmed."""

    serializer_class = RoundSerializer
    permission_classes = [ReviewReaders]

    def get_queryset(self) -> QuerySet[ReviewRound]:
        return ReviewRound.objects.select_related("campaign")

    @extend_schema(parameters=[OpenApiParameter("export", str, enum=["csv"])])
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response | HttpResponse:  # type: ignore[override]
        rnd = self.get_object()
        if request.query_params.get("export") == "csv":
            record(
                action=Action.ACCESS_REPORT_EXPORTED, actor=request.user, target=rnd,
                details={"report": "access_review_round", "campaign": rnd.campaign.name, "format": "csv"},
            )  # fmt: skip
            return HttpResponse(selectors_reviews.round_csv(rnd), content_type="text/csv; charset=utf-8")
        return Response(RoundSerializer(rnd).data)


class DecideSerializer(StrictSerializer):
    verdict = serializers.ChoiceField(choices=[reviews.Verdict.CERTIFY, reviews.Verdict.REVOKE])
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=reviews.MAX_REASON)


class ReviewItemViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[ReviewItem]):
    """The reviewer's inbox (pending items they may answer; never their own access) and ``decide``."""

    permission_classes = [HasRole]
    serializer_class = ReviewItemSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[ReviewItem]:
        return ReviewItem.objects.none()  # the inbox is computed per user in ``list``

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        items = selectors_reviews.review_inbox_for(request.user)
        return Response({"count": len(items), "results": [_item_json(i) for i in items]})

    @extend_schema(request=DecideSerializer, responses={200: ReviewItemSerializer})
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str) -> Response:
        if not has_role(request.user, Role.APPROVER):
            raise PermissionDenied("Reviewers hold the approver role.")
        data = DecideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = reviews.decide_item(actor=request.user, item_id=pk, **data.validated_data)
        item = ReviewItem.objects.select_related("grant", "dataset", "holder", "reviewer", "decided_by").get(pk=item.pk)
        return Response(_item_json(item))
