"""Ending a request early: the requester withdraws, approvers and admins revoke."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals import permissions
from approvals.exceptions import (
    InvalidTransition,
    NotAllowed,
    RequestNotFound,
)
from approvals.models import (
    AccessRequest,
    Grant,
    RequestKind,
)
from approvals.services import dispatch
from approvals.services.common import G, R, _audited_refusal, _fallback_group_id, _id_and_target, _lock, _move
from audit.actions import Action
from workspaces.models import Workspace


def _lock_visible(actor: Any, request_id: Any) -> AccessRequest:
    try:
        return _lock(request_id)
    except AccessRequest.DoesNotExist as exc:
        raise RequestNotFound() from exc


def _end_grant(req: AccessRequest) -> Grant | None:
    """Mark the request's grant for removal and schedule it (idempotent removal in the cloud)."""
    grant = Grant.objects.select_for_update().filter(request=req).first()
    if grant is None:
        return None
    if grant.status != G.REMOVED:
        grant.status = G.REMOVING
        grant.save(update_fields=["status", "updated_at"])
        dispatch.enqueue("remove_grant", grant.pk)
    return grant


def withdraw_request(actor: Any, req: AccessRequest | str) -> AccessRequest:
    """The requester withdraws a pending request, or gives back an approved or active grant early
    (it is then revoked and removed from the cloud). Nobody else withdraws for them."""
    request_id, target = _id_and_target(req)
    with _audited_refusal(actor, Action.ACCESS_DENIED, target, attempted="withdraw"):
        with transaction.atomic():
            locked = _lock_visible(actor, request_id)
            if not permissions.is_requester(actor, locked):
                raise RequestNotFound()
            if locked.state == R.PENDING:
                locked.ended_at = timezone.now()
                _move(locked, locked.withdraw, Action.ACCESS_REQUEST_WITHDRAWN, actor=actor)
                if locked.kind == RequestKind.WORKSPACE:
                    from workspaces import services as workspace_services

                    workspace_services.cancel_workspace_request(
                        locked.workspace, reason="The requester withdrew the approval request.", actor=actor
                    )
            elif locked.state in (R.APPROVED, R.ACTIVE) and locked.kind == RequestKind.DATASET:
                _revoke(actor, locked, "given back by the requester")
            else:
                raise InvalidTransition(f"This request is {locked.get_state_display().lower()}; nothing to withdraw.")
        return locked


def close_workspace_approval(workspace: Workspace, *, actor: Any) -> None:
    """Withdraw the pending approval item of a workspace its owner deleted before a decision.
    Runs inside the caller's transaction; a no-op when nothing is pending."""
    pending = AccessRequest.objects.select_for_update().filter(
        workspace=workspace, kind=RequestKind.WORKSPACE, state=R.PENDING
    )
    for locked in pending:
        locked.ended_at = timezone.now()
        _move(
            locked, locked.withdraw, Action.ACCESS_REQUEST_WITHDRAWN, actor=actor,
            details={"reason": "the workspace was deleted before a decision"},
        )  # fmt: skip


def revoke_grant(actor: Any, req: AccessRequest | str, reason: str = "") -> AccessRequest:
    """An approver of the request (never its requester) or a catalog admin ends a grant early;
    the request is revoked at once and the cloud permission removed by a task."""
    request_id, target = _id_and_target(req)
    with _audited_refusal(actor, Action.ACCESS_DENIED, target, attempted="revoke"):
        with transaction.atomic():
            locked = _lock_visible(actor, request_id)
            if not permissions.can_revoke(actor, locked, _fallback_group_id()):
                raise NotAllowed("Only the request's approvers or a catalog admin may revoke its grant.")
            if locked.state not in (R.APPROVED, R.ACTIVE) or locked.kind != RequestKind.DATASET:
                raise InvalidTransition(f"This request is {locked.get_state_display().lower()}; nothing to revoke.")
            _revoke(actor, locked, (reason or "").strip() or "revoked early")
        return locked


def _revoke(actor: Any, req: AccessRequest, reason: str) -> None:
    req.ended_at = timezone.now()
    grant = _end_grant(req)
    _move(
        req,
        req.revoke,
        Action.GRANT_REVOKED,
        actor=actor,
        details={"reason": reason, "grant": str(grant.pk) if grant else None},
    )
    dispatch.notify("revoked", req, reason=reason)
