"""Reads of the workspace lifecycle: a user's workspaces, one workspace with its timeline
and cost, the fleet, and the dashboard panels — each at a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Min, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from audit.actions import Action
from audit.models import AuditEvent
from catalog.models import InstancePrice
from catalog.selectors import price_index
from catalog.usage import Counts
from core.roles import Role, has_role
from portal.pagination import DEFAULT_LIMIT, BoundedCount, KeysetPage, keyset_page
from workspaces.models import LIVE_STATES, Workspace, WorkspaceState
from workspaces.permissions import can_view, can_view_fleet
from workspaces.reconcile import ORPHAN_REPORT_INTERVAL, ORPHAN_TARGET
from workspaces.services import QUOTA_RUNNING_STATES, TRANSITIONAL_STATES

S = WorkspaceState
WORKSPACE_TARGET_TYPE = "workspaces.workspace"
LIST_ORDER = ("-created_at", "-pk")  # newest first; the pk makes every row's place unique
COUNT_BOUND = 1_000  # the fleet's per-state counts stop here ("1,000+")


def _with_relations(qs: QuerySet[Workspace]) -> QuerySet[Workspace]:
    return qs.select_related("owner", "template_version__template")


# Lists show a workspace's template by name/slug and version number only: the version's spec
# (a large JSON document, decoded per row) and the template's prose are not fetched for them.
_LIST_DEFERRED = (
    "cloud_ref",
    "template_version__spec",
    "template_version__changelog",
    "template_version__template__description",
    "template_version__template__intended_use",
    "template_version__template__classifications",
)


def workspaces_of(user: Any) -> QuerySet[Workspace]:
    """The user's own workspaces, newest first; deleted ones are history (the audit trail keeps them)."""
    qs = Workspace.objects.filter(owner_id=user.pk).exclude(state=S.DELETED)
    return qs.select_related("template_version__template").defer(*_LIST_DEFERRED).order_by("-created_at")


def any_transitional(workspaces: list[Workspace]) -> bool:
    """True while a page should keep polling for live status."""
    return any(ws.state in TRANSITIONAL_STATES for ws in workspaces)


def workspace_for(user: Any, pk: Any) -> tuple[Workspace | None, bool]:
    """(workspace, visible): the workspace if it exists, and whether ``user`` may see it."""
    ws = _with_relations(Workspace.objects.filter(pk=pk)).first()
    if ws is None:
        return None, False
    return ws, can_view(user, ws)


def timeline(ws: Workspace) -> list[AuditEvent]:
    """Every audit event about the workspace, oldest first (one indexed query)."""
    return list(
        AuditEvent.objects.filter(target_type=WORKSPACE_TARGET_TYPE, target_id=str(ws.pk))
        .only("seq", "at", "action", "actor_label", "outcome", "details")
        .order_by("seq")
    )


@dataclass(frozen=True)
class Cost:
    hours: Decimal
    amount: Decimal | None
    currency: str
    hourly: Decimal | None


def running_seconds(ws: Workspace) -> int:
    live = int((timezone.now() - ws.running_since).total_seconds()) if ws.running_since else 0
    return int(ws.accrued_running_seconds) + max(0, live)


def cost_so_far(ws: Workspace, prices: dict[tuple[str, str], InstancePrice] | None = None) -> Cost:
    """Accrued running time × the price table's hourly price for the size (if priced)."""
    prices = price_index() if prices is None else prices
    hours = (Decimal(running_seconds(ws)) / Decimal(3600)).quantize(Decimal("0.01"))
    price = prices.get((ws.provider, ws.instance_type))
    if price is None:
        return Cost(hours, None, "", None)
    return Cost(hours, (hours * price.hourly_price).quantize(Decimal("0.01")), price.currency, price.hourly_price)


@dataclass(frozen=True)
class Waiting:
    """Work owed to a worker: in-flight workspaces, and those whose task is overdue (the sweeper
    re-sends them; many or old ones mean the broker, beat or the workers are not keeping up)."""

    in_flight: int = 0
    overdue: int = 0
    oldest_overdue_seconds: int | None = None


@dataclass(frozen=True)
class FleetView:
    workspaces: list[Workspace]
    counts: dict[str, BoundedCount]
    orphans: list[AuditEvent]
    waiting: Waiting = Waiting()
    page: KeysetPage[Workspace] | None = None


def waiting_work(now: datetime | None = None) -> Waiting:
    """One aggregate over the partial ``next_due_at`` index."""
    now = now or timezone.now()
    late = Q(next_due_at__lte=now)
    agg = Workspace.objects.filter(next_due_at__isnull=False).aggregate(
        in_flight=Count("pk"), overdue=Count("pk", filter=late), oldest=Min("next_due_at", filter=late)
    )
    oldest = agg["oldest"]
    return Waiting(
        in_flight=int(agg["in_flight"] or 0),
        overdue=int(agg["overdue"] or 0),
        oldest_overdue_seconds=int((now - oldest).total_seconds()) if oldest else None,
    )


def state_counts(bound: int = COUNT_BOUND) -> dict[str, BoundedCount]:
    """Workspaces per state, each counted up to ``bound`` on the state index (one query): a
    GROUP BY over the whole table would read every row of a 100k fleet on every request."""
    table = connection.ops.quote_name(Workspace._meta.db_table)
    parts: list[str] = []
    params: list[str | int] = []
    for value in S.values:
        parts.append(f"SELECT %s, (SELECT count(*) FROM (SELECT 1 FROM {table} WHERE state = %s LIMIT %s) b)")  # noqa: S608
        params += [value, value, bound + 1]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return {state: BoundedCount(int(n), bound) for state, n in cursor.fetchall() if n}


def fleet(
    *, state: str = "", drift_only: bool = False, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> FleetView:
    """One keyset page of all workspaces (for catalog admins and auditors) with their drift
    flags, the bounded state counts, and the cloud resources reconciliation found unaccounted
    for: three queries whatever the fleet's size."""
    qs = _with_relations(Workspace.objects.all()).defer(*_LIST_DEFERRED, "applied_hardening", "last_error")
    qs = qs.filter(state=state) if state else qs.exclude(state=S.DELETED)
    if drift_only:
        qs = qs.exclude(drift=[])
    page = keyset_page(qs, ordering=LIST_ORDER, cursor=cursor, limit=limit)
    counts = state_counts()
    orphans = list(
        AuditEvent.objects.filter(
            action=Action.WORKSPACE_DRIFT_DETECTED,
            target_type=ORPHAN_TARGET,
            at__gte=timezone.now() - ORPHAN_REPORT_INTERVAL,
        ).order_by("-seq")[:50]
    )
    return FleetView(page.rows, counts, orphans, waiting_work(), page)


def dashboard_panels(user: Any) -> list[dict[str, Any]]:
    """A scientist's own workspaces; the fleet for admins/auditors."""
    panels: list[dict[str, Any]] = []
    if has_role(user, Role.DATA_SCIENTIST):
        counts = Workspace.objects.filter(owner_id=user.pk).aggregate(
            running=Count("pk", filter=Q(state=S.RUNNING)),
            busy=Count("pk", filter=Q(state__in=QUOTA_RUNNING_STATES) & ~Q(state=S.RUNNING)),
            failed=Count("pk", filter=Q(state=S.FAILED)),
        )
        panels.append(
            {
                "key": "my-workspaces",
                "title": "My workspaces",
                "text": "Your notebooks, their status and cost.",
                "stats": [
                    ("Running", counts["running"]),
                    ("In progress", counts["busy"]),
                    ("Failed", counts["failed"]),
                ],
                "links": [("My workspaces", reverse("workspaces:my_workspaces"))],
            }
        )
    if can_view_fleet(user):
        counts = Workspace.objects.aggregate(
            live=Count("pk", filter=~Q(state__in=[S.DELETED, S.REJECTED])),
            drifted=Count("pk", filter=~Q(drift=[]) & ~Q(state=S.DELETED)),
        )
        panels.append(
            {
                "key": "fleet",
                "title": "Fleet",
                "text": "Every workspace, and what reconciliation found.",
                "stats": [("Workspaces", counts["live"]), ("Drifted", counts["drifted"])],
                "links": [("Fleet", reverse("workspaces:fleet"))],
            }
        )
    return panels


def quota_counts(user: Any) -> Counts:
    """What the user's quota counts right now (two small queries): running or starting or awaiting
    approval, every live workspace, and live workspaces per template. Registered with
    ``catalog.usage`` so the catalog and the request form show usage before anyone submits."""
    mine = Workspace.objects.filter(owner_id=user.pk)
    totals = mine.aggregate(
        total=Count("pk", filter=Q(state__in=LIVE_STATES)),
        running=Count("pk", filter=Q(state__in=QUOTA_RUNNING_STATES)),
    )
    per_template = dict(
        mine.filter(state__in=LIVE_STATES)
        .values_list("template_version__template_id")
        .annotate(n=Count("pk"))
        .values_list("template_version__template_id", "n")
    )
    return Counts(running=int(totals["running"] or 0), total=int(totals["total"] or 0), per_template=per_template)


@dataclass(frozen=True)
class ProgressStep:
    label: str
    status: str  # "done", "current" or "todo"


@dataclass(frozen=True)
class Progress:
    steps: list[ProgressStep]
    elapsed_seconds: int
    provider_status: str


_BUILD_STEPS = ("Requested", "Identity and network", "Instance creating", "In service")


def build_progress(ws: Workspace) -> Progress | None:
    """Where a new workspace is on its way to service, as steps a person recognises, with the time
    since the current operation began and the provider's own status word; None once settled
    (or for stop/start/delete, which show their state alone)."""
    if ws.state in (S.REQUESTED, S.PENDING_APPROVAL, S.APPROVED):
        current = 0
    elif ws.state == S.PROVISIONING:
        current = 2 if ws.cloud_ref or ws.cloud_status else 1
    else:
        return None
    steps = [
        ProgressStep(label, "done" if i < current else "current" if i == current else "todo")
        for i, label in enumerate(_BUILD_STEPS)
    ]
    started = ws.operation_started_at or ws.created_at
    elapsed = int((timezone.now() - started).total_seconds()) if started else 0
    return Progress(steps=steps, elapsed_seconds=max(elapsed, 0), provider_status=ws.cloud_status)
