"""Follow-ups beat runs: reminders, escalations, time-outs, expiry warnings and expiry."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from approvals import permissions
from approvals.models import (
    AccessRequest,
    Grant,
    RequestKind,
)
from approvals.services import dispatch
from approvals.services.common import G, R, _describe, _lock, _move, _now
from approvals.services.withdrawals import _end_grant
from audit.actions import Action
from audit.services import record


def _hours(name: str, default: int) -> timedelta:
    return timedelta(hours=int(getattr(settings, name, default)))


def expire_grant(request_id: Any, now: datetime | None = None) -> bool:
    """A grant's time is up: the request expires and its cloud permission is removed (by a task).
    Re-checked under the lock, so a duplicate or late run does nothing."""
    now = _now(now)
    with transaction.atomic():
        req = _lock(request_id)
        grant = Grant.objects.select_for_update().filter(request=req).first()
        if req.state not in (R.APPROVED, R.ACTIVE) or grant is None or grant.expires_at > now:
            return False
        req.ended_at = now
        _end_grant(req)
        _move(
            req,
            req.expire,
            Action.GRANT_EXPIRED,
            target=grant,
            details={"expires_at": grant.expires_at.isoformat(), "applied": grant.grant_ref},
            system_actor="task:approvals.expire_grants",
        )
        dispatch.notify("expired", req)
    return True


def expire_due(now: datetime | None = None) -> int:
    now = _now(now)
    due = Grant.objects.filter(request__state__in=(R.APPROVED, R.ACTIVE), expires_at__lte=now)
    return sum(expire_grant(request_id, now) for request_id in due.values_list("request_id", flat=True))


def retry_failed_grants(now: datetime | None = None) -> int:
    """Grants whose application failed earlier get another attempt (back-off: every sweep)."""
    now = _now(now)
    ids = list(
        Grant.objects.filter(
            status=G.APPLY_FAILED, request__state=R.APPROVED, expires_at__gt=now,
            updated_at__lte=now - timedelta(minutes=5),
        ).values_list("pk", flat=True)
    )  # fmt: skip
    for grant_id in ids:
        with transaction.atomic():
            dispatch.enqueue("apply_grant", grant_id)
    return len(ids)


def follow_up(now: datetime | None = None) -> dict[str, int]:
    """Remind approvers, escalate to the fallback group, time out stale requests and warn of
    grants about to expire — each at most once per request (the *_at stamps), each audited."""
    now = _now(now)
    counts = {"reminded": 0, "escalated": 0, "timed_out": 0, "warned": 0}
    pending = AccessRequest.objects.filter(state=R.PENDING)
    timeout = now - _hours("ENCLAVE_APPROVAL_TIMEOUT_HOURS", 120)
    for request_id in pending.filter(created_at__lte=timeout).values_list("pk", flat=True):
        counts["timed_out"] += _time_out(request_id, timeout)
    escalate = now - _hours("ENCLAVE_APPROVAL_ESCALATE_AFTER_HOURS", 48)
    for request_id in pending.filter(created_at__lte=escalate, escalated_at__isnull=True).values_list("pk", flat=True):
        counts["escalated"] += _stamp(request_id, "escalated_at", Action.ACCESS_REQUEST_ESCALATED, "escalation", now)
    remind = now - _hours("ENCLAVE_APPROVAL_REMIND_AFTER_HOURS", 24)
    for request_id in pending.filter(created_at__lte=remind, reminded_at__isnull=True).values_list("pk", flat=True):
        counts["reminded"] += _stamp(request_id, "reminded_at", Action.ACCESS_REQUEST_REMINDED, "reminder", now)
    warn_before = now + _hours("ENCLAVE_GRANT_EXPIRY_WARNING_HOURS", 4)
    expiring = Grant.objects.filter(
        request__state=R.ACTIVE, expires_at__lte=warn_before, expires_at__gt=now, expiry_warned_at__isnull=True
    ).values_list("pk", flat=True)
    for grant_id in expiring:
        counts["warned"] += _warn_expiry(grant_id, now)
    return counts


def _stamp(request_id: Any, field: str, action: Action, kind: str, now: datetime) -> int:
    with transaction.atomic():
        req = _lock(request_id)
        if req.state != R.PENDING or getattr(req, field) is not None:
            return 0
        setattr(req, field, now)
        req.save(update_fields=[field, "updated_at"])
        details = {**_describe(req), "age_hours": round((now - req.created_at).total_seconds() / 3600, 1)}
        if kind == "escalation":
            details["fallback_group"] = permissions.fallback_group_name()
        record(action=action, target=req, details=details, system_actor="task:approvals.follow_up")
        dispatch.notify(kind, req)
    return 1


def _time_out(request_id: Any, cutoff: datetime) -> int:
    with transaction.atomic():
        req = _lock(request_id)
        if req.state != R.PENDING or req.created_at > cutoff:
            return 0
        req.ended_at = timezone.now()
        _move(req, req.time_out, Action.ACCESS_REQUEST_TIMED_OUT, system_actor="task:approvals.follow_up")
        if req.kind == RequestKind.WORKSPACE:
            from workspaces import services as workspace_services

            hours = int(getattr(settings, "ENCLAVE_APPROVAL_TIMEOUT_HOURS", 120))
            workspace_services.cancel_workspace_request(
                req.workspace,
                reason=f"Nobody decided the approval request within {hours} hours; it timed out.",
                system_actor="task:approvals.follow_up",
            )
        dispatch.notify("timed_out", req)
    return 1


def _warn_expiry(grant_id: Any, now: datetime) -> int:
    with transaction.atomic():
        grant = Grant.objects.select_for_update().select_related("request").get(pk=grant_id)
        req = _lock(grant.request_id)
        if grant.expiry_warned_at is not None or req.state != R.ACTIVE:
            return 0
        grant.expiry_warned_at = now
        grant.save(update_fields=["expiry_warned_at", "updated_at"])
        record(
            action=Action.GRANT_EXPIRY_WARNED,
            target=grant,
            details={**_describe(req), "expires_at": grant.expires_at.isoformat()},
            system_actor="task:approvals.follow_up",
        )
        dispatch.notify("expiry_warning", req)
    return 1
