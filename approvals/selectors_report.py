"""The access report: who could read a dataset (or what a user could read) during a window, on whose
approval, for what reason, and how the access ended — plus who held the approver role for the dataset.

Served from stored history in a constant number of indexed queries, whatever the size of the trail:
grants with their requests and workspaces, decisions, review items, the audit events *of those objects*
(found through the ``(target_type, target_id, seq)`` index, never by replaying the log) for the
sequence numbers an auditor checks against the trail, and ``GroupMembershipPeriod`` for the approvers.

"Could read" follows the cloud: access starts when the grant was applied and lasts until the cloud
confirmed removal; on AWS the grant's policy is also conditioned on ``aws:CurrentTime`` before the
expiry, so there it ends at the expiry at the latest.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from approvals.models import (
    Dataset,
    Decision,
    Grant,
    GroupMembershipPeriod,
    ItemOutcome,
    RequestState,
    ReviewItem,
)
from audit.actions import Action
from audit.models import AuditEvent
from catalog.providers import Provider
from core.roles import Role

MAX_WINDOW_DAYS = 366
_REQ = "approvals.accessrequest"
_GRANT = "approvals.grant"
_ITEM = "approvals.reviewitem"
_FACT_ACTIONS = (
    Action.ACCESS_REQUEST_CREATED, Action.ACCESS_REQUEST_APPROVAL_RECORDED, Action.ACCESS_REQUEST_APPROVED,
    Action.ACCESS_REQUEST_DENIED, Action.GRANT_APPLIED, Action.GRANT_EXPIRED, Action.GRANT_REVOKED,
    Action.GRANT_REMOVED, Action.REVIEW_ITEM_REVOKED, Action.REVIEW_ITEM_DEFAULTED,
)  # fmt: skip


class Ending:
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    WITHDRAWN = "withdrawn"
    REVIEW = "removed by review"
    LEAVER = "leaver"


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in UTC: whole days from ``first`` to ``last`` inclusive."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=UTC)

    def label(self) -> str:
        return self.first.isoformat() if self.first == self.last else f"{self.first.isoformat()} to {self.last}"


def parse_window(on: str | None, start: str | None, end: str | None) -> Window:
    """``on=YYYY-MM-DD`` or ``from=…&to=…`` (inclusive days, at most a year). Raises ``ValueError``."""
    if on and (start or end):
        raise ValueError("Give either a day (on) or a range (from, to), not both.")
    if on:
        day = date.fromisoformat(on)
        return Window(day, day)
    if not (start and end):
        raise ValueError("Give a day (on=YYYY-MM-DD) or a range (from=YYYY-MM-DD&to=YYYY-MM-DD).")
    window = Window(date.fromisoformat(start), date.fromisoformat(end))
    if window.last < window.first:
        raise ValueError("The range ends before it starts.")
    if (window.last - window.first).days >= MAX_WINDOW_DAYS:
        raise ValueError(f"A range covers at most {MAX_WINDOW_DAYS} days.")
    return window


@dataclass
class Fact:
    """One fact of a grant's history with the audit event that recorded it."""

    kind: str  # requested, approved, denied, applied, review, expired, revoked, removed
    at: datetime | None
    by: str
    detail: str
    seq: int | None


@dataclass
class ReportRow:
    grant_id: str
    request_id: str
    dataset: str
    classification: str
    requester: str
    workspace: str
    workspace_id: str
    principal: str
    justification: str
    approvers: list[dict[str, Any]]
    start: datetime
    end: datetime | None  # when the access ended in the cloud (None: still held)
    expires_at: datetime
    ended: str  # one of Ending
    ended_at: datetime | None  # when the decision to end it was taken
    ended_by: str
    end_reason: str
    removed_at: datetime | None
    facts: list[Fact] = field(default_factory=list)


@dataclass
class ApproverPeriod:
    username: str
    group: str
    start: datetime
    end: datetime | None
    since_history_began: bool


@dataclass
class AccessReport:
    window: Window
    dataset: Dataset | None
    user: Any
    rows: list[ReportRow]
    approvers: list[ApproverPeriod]


def _principal(grant: Grant) -> str:
    details = (grant.grant_ref or {}).get("details") or {}
    if details.get("role_name"):
        return f"IAM role {details['role_name']}"
    if details.get("principal_id"):
        return f"Azure principal {details['principal_id']}"
    ref = grant.workspace.cloud_ref or {}
    return str(ref.get("resource_id") or ref.get("resource_name") or "")


def _access_end(grant: Grant) -> datetime | None:
    if grant.workspace.provider == Provider.AWS_SAGEMAKER:
        return min(grant.expires_at, grant.removed_at) if grant.removed_at else grant.expires_at
    return grant.removed_at


def _grants(window: Window, dataset: Dataset | None, user: Any) -> list[Grant]:
    grants = Grant.objects.select_related("request", "request__requester", "workspace", "dataset").filter(
        applied_at__isnull=False, applied_at__lt=window.end
    )
    grants = grants.filter(Q(removed_at__isnull=True) | Q(removed_at__gt=window.start))
    if dataset is not None:
        grants = grants.filter(dataset=dataset)
    if user is not None:
        grants = grants.filter(request__requester=user)
    out = []
    for grant in grants.order_by("applied_at", "pk"):
        end = _access_end(grant)
        if end is None or end > window.start:
            out.append(grant)
    return out


def _events(grants: list[Grant], items: list[ReviewItem]) -> dict[tuple[str, str], list[AuditEvent]]:
    if not grants:
        return {}
    wanted = Q(target_type=_REQ, target_id__in=[str(g.request_id) for g in grants]) | Q(
        target_type=_GRANT, target_id__in=[str(g.pk) for g in grants]
    )
    if items:
        wanted |= Q(target_type=_ITEM, target_id__in=[str(i.pk) for i in items])
    rows = (
        AuditEvent.objects.filter(wanted, action__in=[a.value for a in _FACT_ACTIONS], outcome="success")
        .only("seq", "at", "actor_id", "actor_label", "action", "target_type", "target_id", "details")
        .order_by("seq")
    )
    out: dict[tuple[str, str], list[AuditEvent]] = defaultdict(list)
    for event in rows:
        out[(event.target_type, event.target_id)].append(event)
    return out


def _first(events: list[AuditEvent], action: Action, actor_id: Any = None) -> AuditEvent | None:
    for event in events:
        if event.action == action and (actor_id is None or event.actor_id == actor_id):
            return event
    return None


def _row(grant: Grant, decisions: list[Decision], item: ReviewItem | None, events: dict[Any, Any]) -> ReportRow:
    req = grant.request
    req_events = events.get((_REQ, str(req.pk)), [])
    grant_events = events.get((_GRANT, str(grant.pk)), [])
    item_events = events.get((_ITEM, str(item.pk)), []) if item else []
    facts: list[Fact] = []
    created = _first(req_events, Action.ACCESS_REQUEST_CREATED)
    facts.append(Fact("requested", req.created_at, req.requester.get_username(), req.justification,
                      created.seq if created else None))  # fmt: skip
    approvers = []
    for d in decisions:
        event = _first(req_events, Action.ACCESS_REQUEST_APPROVAL_RECORDED, d.approver_id) or _first(
            req_events,
            Action.ACCESS_REQUEST_DENIED if d.verdict == "deny" else Action.ACCESS_REQUEST_APPROVED,
            d.approver_id,
        )
        seq = event.seq if event else None
        name = d.approver.get_username()
        approvers.append({"approver": name, "verdict": d.verdict, "stage": d.stage, "comment": d.comment,
                          "decided_at": d.decided_at, "audit_seq": seq})  # fmt: skip
        facts.append(Fact("approved" if d.verdict == "approve" else "denied", d.decided_at, name, d.comment, seq))
    applied = _first(grant_events, Action.GRANT_APPLIED)
    facts.append(Fact("applied", grant.applied_at, "", _principal(grant), applied.seq if applied else None))

    ended, ended_by, reason, end_event = Ending.ACTIVE, "", "", None
    if req.state == RequestState.EXPIRED:
        ended, end_event = Ending.EXPIRED, _first(grant_events, Action.GRANT_EXPIRED)
        reason = "the grant's time was up"
    elif req.state == RequestState.REVOKED:
        end_event = _first(req_events, Action.GRANT_REVOKED)
        details = end_event.details if end_event else {}
        reason = str(details.get("reason", ""))
        ended_by = end_event.actor_label if end_event else ""
        if item is not None and item.outcome in (ItemOutcome.REVOKED, ItemOutcome.REVOKED_BY_DEFAULT):
            ended = Ending.REVIEW
            ended_by = item.decided_by.get_username() if item.decided_by else "no answer by the deadline"
            review_event = _first(item_events, Action.REVIEW_ITEM_REVOKED) or _first(
                item_events, Action.REVIEW_ITEM_DEFAULTED
            )
            facts.append(Fact("review", item.decided_at, ended_by, item.reason,
                              review_event.seq if review_event else None))  # fmt: skip
        elif details.get("leaver") or "leaver" in reason.lower():
            ended = Ending.LEAVER
        elif end_event is not None and end_event.actor_id == req.requester_id:
            ended = Ending.WITHDRAWN
        else:
            ended = Ending.REVOKED
    if ended != Ending.ACTIVE:
        kind = "expired" if ended == Ending.EXPIRED else "revoked"
        facts.append(Fact(kind, req.ended_at, ended_by, reason, end_event.seq if end_event else None))
    removed = _first(grant_events, Action.GRANT_REMOVED)
    if grant.removed_at:
        facts.append(Fact("removed", grant.removed_at, "", _principal(grant), removed.seq if removed else None))
    return ReportRow(
        grant_id=str(grant.pk), request_id=str(req.pk), dataset=grant.dataset.slug,
        classification=grant.dataset.classification, requester=req.requester.get_username(),
        workspace=grant.workspace.name, workspace_id=str(grant.workspace_id), principal=_principal(grant),
        justification=req.justification, approvers=approvers, start=grant.applied_at or grant.created_at,
        end=_access_end(grant),
        expires_at=grant.expires_at, ended=ended, ended_at=req.ended_at, ended_by=ended_by, end_reason=reason,
        removed_at=grant.removed_at, facts=facts,
    )  # fmt: skip


def _approver_periods(dataset: Dataset, window: Window) -> list[ApproverPeriod]:
    """Members of the dataset's deciding groups who also held the approver role, overlapping the window."""
    policy = dataset.policy
    groups = {policy.approver_group_id, policy.second_stage_group_id} - {None}
    periods = list(
        GroupMembershipPeriod.objects.select_related("user", "group")
        .filter(Q(group_id__in=groups) | Q(group__name=Role.APPROVER.value), started_at__lt=window.end)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=window.start))
        .order_by("started_at")
    )
    role = [p for p in periods if p.group.name == Role.APPROVER.value]
    out = []
    for p in periods:
        if p.group_id not in groups:
            continue
        for r in role:
            if r.user_id != p.user_id:
                continue
            start = max(p.started_at, r.started_at)
            ends = [e for e in (p.ended_at, r.ended_at) if e is not None]
            end = min(ends) if ends else None
            if (end is None or end > max(start, window.start)) and start < window.end:
                out.append(ApproverPeriod(p.user.get_username(), p.group.name, start, end,
                                          p.backfilled or r.backfilled))  # fmt: skip
    return sorted(out, key=lambda a: (a.username, a.start))


def access_report(window: Window, *, dataset: Dataset | None = None, user: Any = None) -> AccessReport:
    """Every grant through which the dataset (or, with ``user``, anything) could be read in the window."""
    grants = _grants(window, dataset, user)
    request_ids = [g.request_id for g in grants]
    decisions: dict[Any, list[Decision]] = defaultdict(list)
    if grants:
        for d in Decision.objects.select_related("approver").filter(request_id__in=request_ids).order_by("decided_at"):
            decisions[d.request_id].append(d)
    items: dict[Any, ReviewItem] = {}
    if grants:
        revoked = (ItemOutcome.REVOKED, ItemOutcome.REVOKED_BY_DEFAULT)
        for item in ReviewItem.objects.select_related("decided_by").filter(
            grant_id__in=[g.pk for g in grants], outcome__in=revoked
        ):
            items[item.grant_id] = item
    events = _events(grants, list(items.values()))
    rows = [_row(g, decisions[g.request_id], items.get(g.pk), events) for g in grants]
    approvers = _approver_periods(dataset, window) if dataset is not None else []
    return AccessReport(window=window, dataset=dataset, user=user, rows=rows, approvers=approvers)


def find_user(username: str) -> Any:
    return get_user_model().objects.filter(username=username).first()


def report_csv(report: AccessReport) -> str:
    """One line per fact, each with the sequence number of the audit event that recorded it (empty for
    the approver-role periods, which come from the membership history)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["grant", "dataset", "requester", "workspace", "principal", "fact", "at", "by", "detail",
                     "audit_seq"])  # fmt: skip
    for row in report.rows:
        for fact in row.facts:
            writer.writerow([
                row.grant_id, row.dataset, row.requester, row.workspace_id, row.principal, fact.kind,
                fact.at.isoformat() if fact.at else "", _safe(fact.by), _safe(fact.detail), fact.seq or "",
            ])  # fmt: skip
    for a in report.approvers:
        writer.writerow([
            "", report.dataset.slug if report.dataset else "", "", "", "", f"approver role ({a.group})",
            a.start.isoformat(), a.username, f"until {a.end.isoformat() if a.end else 'still held'}"
            + (" (membership before history began)" if a.since_history_began else ""), "",
        ])  # fmt: skip
    return out.getvalue()


def _safe(value: str) -> str:
    """No spreadsheet formula injection: a cell starting with = + - @ is quoted as text."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
