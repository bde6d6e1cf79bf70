"""The grant's life in the cloud, recorded by the tasks that apply and remove it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.models import (
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
