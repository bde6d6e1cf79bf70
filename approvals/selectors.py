"""Reads of data access: the dataset catalog, the approver inbox and history, a requester's
requests and grants, one request with its decisions and timeline, and the dashboard panels —
each at a constant number of queries whatever the number of rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from approvals import permissions
from approvals.models import (
    AccessRequest,
    ApprovalPolicy,
    Dataset,
    Decision,
    Grant,
    RequestKind,
    RequestState,
    Verdict,
)
from approvals.services import CLASSIFICATION_RANK, GRANTABLE_WORKSPACE_STATES
from audit.models import AuditEvent
from core.roles import Role, has_role
from portal.pagination import DEFAULT_LIMIT, BoundedCount, KeysetPage, bounded_count, keyset_page
from workspaces.models import Workspace

R = RequestState
LIST_LIMIT = 200
INBOX_ORDER = ("created_at", "pk")  # oldest first: the longest-waiting request is decided first
NEWEST_FIRST = ("-created_at", "-pk")


def fallback_group_id() -> int | None:
    name = permissions.fallback_group_name()
    return Group.objects.filter(name=name).values_list("id", flat=True).first() if name else None


# --- the catalog --------------------------------------------------------------------------------------


def datasets() -> QuerySet[Dataset]:
    return Dataset.objects.select_related("policy__approver_group", "policy__second_stage_group", "steward").order_by(
        "name"
    )


def requestable_datasets() -> QuerySet[Dataset]:
    return datasets().filter(active=True)


def dataset_by_slug(slug: str) -> Dataset | None:
    return datasets().filter(slug=slug).first()


def policies() -> QuerySet[ApprovalPolicy]:
    return ApprovalPolicy.objects.select_related("approver_group", "second_stage_group").annotate(
        dataset_count=Count("datasets")
    )


def grantable_workspaces(user: Any, *, for_dataset: Dataset | None = None) -> QuerySet[Workspace]:
    """The user's workspaces that exist in the cloud and can receive a grant; with ``for_dataset``,
    only those that may hold it (the same cloud, classified at least as high as the dataset)."""
    qs = Workspace.objects.filter(owner_id=user.pk, state__in=GRANTABLE_WORKSPACE_STATES)
    if for_dataset is not None:
        floor = CLASSIFICATION_RANK[for_dataset.classification]
        qs = qs.filter(
            provider=for_dataset.provider,
            data_classification__in=[c for c, rank in CLASSIFICATION_RANK.items() if rank >= floor],
        )
    return qs.order_by("name")


# --- requests ---------------------------------------------------------------------------------------------


def _request_relations(qs: QuerySet[AccessRequest]) -> QuerySet[AccessRequest]:
    return qs.select_related("requester", "dataset", "workspace", "grant", "approver_group", "second_stage_group")


def _approvals_at(stage: int) -> Coalesce:
    """Approvals recorded at ``stage``, as a correlated subquery: unlike a JOIN + GROUP BY over
    every selected column, it lets PostgreSQL walk (state, created_at) and stop at the page size."""
    approvals = (
        Decision.objects.filter(request=OuterRef("pk"), verdict=Verdict.APPROVE, stage=stage)
        .order_by()
        .values("request")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(approvals, output_field=IntegerField()), 0)


def _with_counts(qs: QuerySet[AccessRequest]) -> QuerySet[AccessRequest]:
    return qs.annotate(stage_one=_approvals_at(1), stage_two=_approvals_at(2))


def still_needed(req: Any) -> int:
    """Approvals still missing (needs the ``stage_one``/``stage_two`` annotations)."""
    one = max(req.approvals_required - req.stage_one, 0)
    two = max(req.second_stage_approvals - req.stage_two, 0) if req.second_stage_group_id else 0
    return int(one + two)


@dataclass(frozen=True)
class InboxRow:
    req: AccessRequest
    still_needed: int
    stage: int
    active_grants: list[AccessRequest]
    decisions: list[Decision]
    detail_url: str
    decide_url: str


_URL_PLACEHOLDER = uuid.UUID(int=0)


@cache
def _url_pattern(name: str) -> str:
    """The URL of ``name`` for the placeholder pk, reversed once; rows substitute their pk
    (a ``reverse`` per row would cost more than the rest of the row)."""
    return reverse(name, kwargs={"pk": _URL_PLACEHOLDER})


def _url_for(name: str, pk: Any) -> str:
    return _url_pattern(name).replace(str(_URL_PLACEHOLDER), str(pk))


# What the inbox shows of a request's workspace and dataset: their large JSON and prose stay in the database.
_INBOX_DEFERRED = (
    "workspace__cloud_ref",
    "workspace__applied_hardening",
    "workspace__drift",
    "workspace__last_error",
    "dataset__description",
    "dataset__location",
)


def _inbox_queryset(user: Any) -> QuerySet[AccessRequest]:
    """Pending requests ``user`` may decide now: in a group deciding the current stage, not their
    own, not yet decided by them. Shared by the inbox page and the dashboard's count."""
    groups = list(permissions.group_ids_of(user))
    fallback = fallback_group_id()
    mine = Decision.objects.filter(request=OuterRef("pk"), approver_id=user.pk)
    stage_one_groups = Q(approver_group_id__in=groups)
    if fallback is not None and fallback in groups:
        stage_one_groups |= Q(escalated_at__isnull=False)
    return (
        _with_counts(AccessRequest.objects.filter(state=R.PENDING).exclude(requester_id=user.pk))
        .filter(~Exists(mine))
        .filter(
            (Q(stage_one__lt=F("approvals_required")) & stage_one_groups)
            | (Q(stage_one__gte=F("approvals_required")) & Q(second_stage_group_id__in=groups))
        )
        .order_by("created_at")
    )


def _inbox_rows_queryset(user: Any) -> QuerySet[AccessRequest]:
    active = Prefetch(
        "requester__access_requests",
        queryset=AccessRequest.objects.filter(state=R.ACTIVE).select_related("dataset", "grant"),
        to_attr="active_requests",
    )
    decided = Prefetch("decisions", queryset=Decision.objects.select_related("approver"), to_attr="decision_list")
    return _request_relations(_inbox_queryset(user)).defer(*_INBOX_DEFERRED).prefetch_related(active, decided)


def _inbox_row(r: AccessRequest) -> InboxRow:
    return InboxRow(
        req=r,
        still_needed=still_needed(r),
        stage=1 if r.stage_one < r.approvals_required else 2,  # type: ignore[attr-defined]
        active_grants=r.requester.active_requests,  # type: ignore[attr-defined]
        decisions=r.decision_list,  # type: ignore[attr-defined]
        detail_url=_url_for("approvals:request_detail", r.pk),
        decide_url=_url_for("approvals:decide", r.pk),
    )


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    page: KeysetPage[AccessRequest]


def inbox_page(user: Any, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> InboxPage:
    """One keyset page of the inbox, oldest first, with each requester's active grants and the
    decisions so far: four queries however many requests wait."""
    if not has_role(user, Role.APPROVER):
        return InboxPage([], KeysetPage([], limit, None, None))
    page = keyset_page(_inbox_rows_queryset(user), ordering=INBOX_ORDER, cursor=cursor, limit=limit)
    return InboxPage([_inbox_row(r) for r in page.rows], page)


def inbox_for(user: Any) -> list[InboxRow]:
    """The oldest ``LIST_LIMIT`` inbox rows (see ``inbox_page`` for paging through all of them)."""
    return inbox_page(user, limit=LIST_LIMIT).rows


def inbox_requests(user: Any) -> QuerySet[AccessRequest]:
    """The inbox as a queryset of requests (the API pages it with its keyset paginator)."""
    if not has_role(user, Role.APPROVER):
        return AccessRequest.objects.none()
    return _request_relations(_inbox_queryset(user)).prefetch_related(
        Prefetch("decisions", queryset=Decision.objects.select_related("approver"), to_attr="decision_list")
    )


def inbox_count(user: Any, bound: int = LIST_LIMIT) -> BoundedCount:
    """How many requests wait for ``user``, counted up to ``bound`` ("200+"): one query that
    stops after ``bound + 1`` rows instead of evaluating the inbox's filter for every pending one."""
    if not has_role(user, Role.APPROVER):
        return BoundedCount(0, bound)
    return bounded_count(_inbox_queryset(user), bound)


def history_for(user: Any) -> list[Decision]:
    """Decisions ``user`` made, newest first, with each request's outcome."""
    return list(
        Decision.objects.filter(approver_id=user.pk)
        .select_related("request__requester", "request__dataset", "request__workspace", "request__grant")
        .order_by("-decided_at")[:LIST_LIMIT]
    )


def _requests_of_queryset(user: Any) -> QuerySet[AccessRequest]:
    decided = Prefetch("decisions", queryset=Decision.objects.select_related("approver"), to_attr="decision_list")
    return _request_relations(_with_counts(AccessRequest.objects.filter(requester_id=user.pk))).prefetch_related(
        decided
    )


def requests_of(user: Any) -> list[AccessRequest]:
    """The user's newest ``LIST_LIMIT`` requests (dataset and workspace), with grants and counts."""
    return list(_requests_of_queryset(user).order_by(*NEWEST_FIRST)[:LIST_LIMIT])


def requests_page(user: Any, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> KeysetPage[AccessRequest]:
    """One keyset page of the user's requests, newest first (three queries)."""
    return keyset_page(_requests_of_queryset(user), ordering=NEWEST_FIRST, cursor=cursor, limit=limit)


def active_requests_of(user: Any) -> list[AccessRequest]:
    """The user's requests with a live grant (shown above the paged list, whatever page it is on)."""
    return list(
        AccessRequest.objects.filter(requester_id=user.pk, state=R.ACTIVE)
        .select_related("dataset", "workspace", "grant")
        .order_by(*NEWEST_FIRST)[:LIST_LIMIT]
    )


def request_for(user: Any, pk: Any) -> tuple[AccessRequest | None, bool]:
    """(request, visible): the request if it exists, and whether ``user`` may see it."""
    req = (
        _request_relations(_with_counts(AccessRequest.objects.filter(pk=pk)))
        .select_related("policy")
        .prefetch_related(
            Prefetch("decisions", queryset=Decision.objects.select_related("approver"), to_attr="decision_list")
        )
        .first()
    )
    if req is None:
        return None, False
    return req, permissions.can_view(user, req, fallback_group_id())


def timeline(req: AccessRequest, grant: Grant | None) -> list[AuditEvent]:
    """Every audit event about the request and its grant, oldest first."""
    targets = Q(target_type="approvals.accessrequest", target_id=str(req.pk))
    if grant is not None:
        targets |= Q(target_type="approvals.grant", target_id=str(grant.pk))
    return list(
        AuditEvent.objects.filter(targets).only("seq", "at", "action", "actor_label", "outcome", "details")[:500]
    )


def grants_visible_to(user: Any) -> QuerySet[Grant]:
    """Own grants for scientists; every grant for approvers, catalog admins and auditors (read-only)."""
    qs = Grant.objects.select_related("request__requester", "dataset", "workspace").order_by("-created_at")
    if has_role(user, Role.APPROVER, Role.CATALOG_ADMIN, Role.AUDITOR):
        return qs
    return qs.filter(request__requester_id=user.pk)


def requests_visible_to(user: Any, *, scope: str = "mine") -> QuerySet[AccessRequest]:
    """For the API: ``mine`` (own requests) or ``all`` (approvers, catalog admins, auditors)."""
    decided = Prefetch("decisions", queryset=Decision.objects.select_related("approver"), to_attr="decision_list")
    qs = _request_relations(_with_counts(AccessRequest.objects.all())).prefetch_related(decided).order_by(*NEWEST_FIRST)
    if scope == "all" and has_role(user, Role.APPROVER, Role.CATALOG_ADMIN, Role.AUDITOR):
        return qs
    return qs.filter(requester_id=user.pk)


def dashboard_panels(user: Any) -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = []
    if has_role(user, Role.DATA_SCIENTIST):
        counts = AccessRequest.objects.filter(requester_id=user.pk, kind=RequestKind.DATASET).aggregate(
            pending=Count("pk", filter=Q(state=R.PENDING)),
            active=Count("pk", filter=Q(state=R.ACTIVE)),
        )
        panels.append(
            {
                "key": "data-access",
                "title": "Data access",
                "text": "Time-bound, approved access to production datasets.",
                "stats": [("Pending", counts["pending"]), ("Active grants", counts["active"])],
                "links": [
                    ("My requests", reverse("approvals:my_requests")),
                    ("Request access", reverse("approvals:new_request")),
                ],
            }
        )
    if has_role(user, Role.APPROVER):
        panels.append(
            {
                "key": "approvals",
                "title": "Approvals",
                "text": "Requests waiting for your decision.",
                "stats": [("Waiting for you", str(inbox_count(user)))],
                "links": [("Open the inbox", reverse("approvals:inbox"))],
            }
        )
    if permissions.can_view_catalog(user):
        counts = Dataset.objects.aggregate(total=Count("pk"))
        active_grants = Grant.objects.filter(request__state=R.ACTIVE, expires_at__gt=timezone.now()).count()
        panels.append(
            {
                "key": "datasets",
                "title": "Datasets",
                "text": "The production-data catalog and its approval policies.",
                "stats": [("Datasets", counts["total"]), ("Active grants", active_grants)],
                "links": [("Datasets", reverse("approvals:datasets"))],
            }
        )
    return panels
