"""The grant's life in the cloud, recorded by the tasks that apply and remove it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from approvals.models import (
    GRANT_IN_FLIGHT,
    Grant,
)
from approvals.services import dispatch
from approvals.services.common import G, R, _describe, _lock, _move, _now
from audit.actions import Action, Outcome
from audit.services import record
from workspaces.backends.base import GrantRef


def grant_to_apply(grant_id: Any, now: datetime | None = None) -> Grant | None:
    """The grant if it should be applied now, else ``None`` (a late or duplicate task does nothing)."""
    grant = Grant.objects.select_related("request", "dataset", "workspace").filter(pk=grant_id).first()
    if grant is None or grant.request.state != R.APPROVED or grant.status not in (G.PENDING, G.APPLY_FAILED):
        return None
    if grant.expires_at <= _now(now):
        return None
    return grant


def record_grant_applied(grant_id: Any, ref: GrantRef) -> bool:
    """The backend applied the grant: store exactly what was applied, make the request active.

    If the request was revoked or expired while the cloud call ran, the permission just applied is
    scheduled for removal instead — nothing is reported active that should not be."""
    with transaction.atomic():
        grant = Grant.objects.select_for_update().select_related("request").get(pk=grant_id)
        req = _lock(grant.request_id)
        grant.grant_ref = ref.to_json()
        if req.state != R.APPROVED or grant.status not in (G.PENDING, G.APPLY_FAILED):
            grant.status = G.REMOVING
            grant.save()
            dispatch.enqueue("remove_grant", grant.pk)
            return False
        now = timezone.now()
        grant.status, grant.applied_at, grant.last_error = G.APPLIED, now, ""
        grant.attempts += 1
        grant.save()
        _move(
            req,
            req.activate,
            Action.GRANT_APPLIED,
            target=grant,
            details={"expires_at": grant.expires_at.isoformat(), "applied": ref.to_json()},
            system_actor="task:approvals.apply_grant",
        )
        dispatch.notify("granted", req)
    return True


def record_apply_failed(grant_id: Any, message: str, code: str, *, will_retry: bool) -> None:
    """Applying failed: the request page shows it; a retry is scheduled where it may help."""
    with transaction.atomic():
        grant = Grant.objects.select_for_update().select_related("request").get(pk=grant_id)
        req = _lock(grant.request_id)
        if req.state != R.APPROVED or grant.status not in (G.PENDING, G.APPLY_FAILED):
            return
        grant.status, grant.last_error = G.APPLY_FAILED, message
        grant.attempts += 1
        grant.save()
        record(
            action=Action.GRANT_APPLY_FAILED,
            target=grant,
            outcome=Outcome.ERROR,
            details={**_describe(req), "message": message, "code": code, "attempt": grant.attempts,
                     "will_retry": will_retry},
            system_actor="task:approvals.apply_grant",
        )  # fmt: skip


def grant_to_remove(grant_id: Any) -> Grant | None:
    grant = Grant.objects.select_related("request", "workspace").filter(pk=grant_id).first()
    if grant is None or grant.status != G.REMOVING:
        return None
    return grant


def record_grant_removed(grant_id: Any) -> bool:
    """The cloud permission is gone: say so, with exactly what was removed."""
    with transaction.atomic():
        grant = Grant.objects.select_for_update().select_related("request").get(pk=grant_id)
        if grant.status != G.REMOVING:
            return False
        req = _lock(grant.request_id)
        grant.status, grant.removed_at, grant.last_error = G.REMOVED, timezone.now(), ""
        grant.save()
        record(
            action=Action.GRANT_REMOVED,
            target=grant,
            details={**_describe(req), "request_state": req.state, "removed": grant.grant_ref},
            system_actor="task:approvals.remove_grant",
        )
    return True


def record_remove_failed(grant_id: Any, message: str, code: str) -> None:
    with transaction.atomic():
        grant = Grant.objects.select_for_update().select_related("request").get(pk=grant_id)
        if grant.status != G.REMOVING:
            return
        grant.last_error = message
        grant.save(update_fields=["last_error", "updated_at"])
        record(
            action=Action.GRANT_REMOVE_FAILED,
            target=grant,
            outcome=Outcome.ERROR,
            details={"request": str(grant.request_id), "message": message, "code": code},
            system_actor="task:approvals.remove_grant",
        )


def postpone(grant_id: Any, countdown: float) -> None:
    """A task retries itself ``countdown`` seconds from now: the sweeper steps in only if that is lost."""
    due = timezone.now() + timedelta(seconds=countdown + int(settings.ENCLAVE_SWEEP_GRACE_SECONDS))
    Grant.objects.filter(pk=grant_id, status__in=GRANT_IN_FLIGHT).update(next_due_at=due)


def resend_overdue(now: datetime, limit: int) -> dict[str, int]:
    """The sweeper's share for grants: re-send apply/remove for every overdue grant.

    Claimed under ``SKIP LOCKED`` with the due time pushed one grace ahead in the same transaction,
    so concurrent sweeps never double-send and the next sweep waits for the task to report back.
    A duplicate is harmless: the tasks re-check the grant's status and the backends apply and
    remove by a deterministic name."""
    grace = timedelta(seconds=int(settings.ENCLAVE_SWEEP_GRACE_SECONDS))
    with transaction.atomic():
        overdue = list(
            Grant.objects.select_for_update(skip_locked=True)
            .filter(next_due_at__lte=now)
            .order_by("next_due_at")
            .only("pk", "status", "next_due_at")[:limit]
        )
        plan = []
        for grant in overdue:
            if grant.status in GRANT_IN_FLIGHT:
                grant.next_due_at = now + grace
                plan.append(("apply_grant" if grant.status == G.PENDING else "remove_grant", str(grant.pk)))
            else:
                grant.next_due_at = None
        Grant.objects.bulk_update(overdue, ["next_due_at"])
    for task_name, grant_id in plan:
        dispatch.enqueue(task_name, grant_id)  # outside any transaction: published at once
    return {"resent": len(plan)}


def overdue_grants_check() -> Any:
    """``manage.py doctor``: grants whose apply/remove task is more than five minutes late."""
    from django.db.models import Min

    from portal.health import Check

    now = timezone.now()
    late = Grant.objects.filter(next_due_at__lte=now)
    count = late.count()
    if not count:
        return Check("overdue grants", True, "none")
    age = now - late.aggregate(oldest=Min("next_due_at"))["oldest"]
    ok = age <= timedelta(minutes=5)
    return Check("overdue grants", ok, f"{count} overdue, the oldest by {int(age.total_seconds())} s")
