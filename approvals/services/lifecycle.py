"""What a leaver or a mover means for data access: their pending requests are withdrawn,
their grants revoked (and removed from the cloud by the ordinary removal task), and requests
that waited on them as an approver go to the rest of the group or to the fallback group.

Decision on "losing the approver role removes their pending decisions": a decision pending
on someone is an inbox item waiting for them — that item is re-routed (the rest of the
request's group is told, or the fallback group joins when nobody is left). Approvals they
already recorded on a request still collecting approvals stay, as history and in the count:
they were given by an authorised approver, inside the four-eyes rule (never the requester,
never twice by one person), and the audit trail shows who gave them and when. A request is
never approved by the leaver after they left, because they can no longer decide anything.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from approvals import permissions
from approvals.models import AccessRequest, RequestKind
from approvals.services import dispatch
from approvals.services.common import R, _describe, _fallback_group_id, _lock, _move
from approvals.services.decisions import current_stage
from approvals.services.withdrawals import _end_grant
from audit.actions import Action, Outcome
from audit.services import record
from core.roles import Role, role_group


def withdraw_requests_of(user: Any, *, system_actor: str, reason: str) -> int:
    """Withdraw every pending request of a leaver (workspace approvals cancel their workspace)."""
    count = 0
    ids = AccessRequest.objects.filter(requester_id=user.pk, state=R.PENDING).values_list("pk", flat=True)
    for request_id in list(ids):
        with transaction.atomic():
            req = _lock(request_id)
            if req.state != R.PENDING:
                continue
            req.ended_at = timezone.now()
            _move(req, req.withdraw, Action.ACCESS_REQUEST_WITHDRAWN, details={"reason": reason},
                  system_actor=system_actor)  # fmt: skip
            if req.kind == RequestKind.WORKSPACE:
                from workspaces import services as workspace_services

                workspace_services.cancel_workspace_request(req.workspace, reason=reason, system_actor=system_actor)
            count += 1
    return count


def revoke_grants_of(user: Any, *, system_actor: str, reason: str) -> int:
    """Revoke every approved or active grant of a leaver; the ``remove_grant`` task takes the
    permission off the workspace's cloud identity after commit."""
    count = 0
    ids = AccessRequest.objects.filter(
        requester_id=user.pk, kind=RequestKind.DATASET, state__in=(R.APPROVED, R.ACTIVE)
    ).values_list("pk", flat=True)
    for request_id in list(ids):
        with transaction.atomic():
            req = _lock(request_id)
            if req.state not in (R.APPROVED, R.ACTIVE):
                continue
            req.ended_at = timezone.now()
            grant = _end_grant(req)
            _move(
                req, req.revoke, Action.GRANT_REVOKED, system_actor=system_actor,
                details={"reason": reason, "grant": str(grant.pk) if grant else None},
            )  # fmt: skip
            count += 1
    return count


def _remaining_deciders(req: AccessRequest, groups: set[int], departed: Any) -> int:
    users = get_user_model().objects.filter(is_active=True, groups__id__in=groups)
    approvers = get_user_model().objects.filter(groups__id=role_group(Role.APPROVER).pk).values("pk")
    return (
        users.filter(pk__in=approvers)
        .exclude(pk=req.requester_id)
        .exclude(pk=departed.pk)
        .exclude(pk__in=req.decisions.values("approver_id"))
        .distinct()
        .count()
    )


def reroute_from(user: Any, *, prior_group_ids: set[int], system_actor: str, reason: str) -> int:
    """Re-route the pending requests that waited on ``user`` as an approver (their deciding
    group at the current stage was one of ``prior_group_ids`` and they had not decided):
    to the rest of that group when someone eligible is left, else — at stage one — to the
    fallback group (the request is escalated). Each re-route is audited; a request nobody
    can decide any more is audited as an error for the catalog admins to fix its policy."""
    fallback = _fallback_group_id()
    count = 0
    ids = AccessRequest.objects.filter(state=R.PENDING).exclude(requester_id=user.pk).values_list("pk", flat=True)
    for request_id in list(ids):
        with transaction.atomic():
            req = _lock(request_id)
            if req.state != R.PENDING or req.decisions.filter(approver_id=user.pk).exists():
                continue
            stage = current_stage(req)
            groups = permissions.decider_groups(req, stage=stage, fallback_group_id=fallback)
            if not groups & prior_group_ids:
                continue
            remaining = _remaining_deciders(req, groups, user)
            details = {**_describe(req), "departed_approver": user.get_username(), "stage": stage, "reason": reason,
                       "remaining_approvers": remaining}  # fmt: skip
            outcome = Outcome.SUCCESS
            if remaining:
                details["to"] = "group"
                dispatch.notify("new_request", req, stage=stage)
            elif stage == 1 and fallback is not None and req.escalated_at is None:
                req.escalated_at = timezone.now()
                req.save(update_fields=["escalated_at", "updated_at"])
                details.update(to="fallback", fallback_group=permissions.fallback_group_name())
                dispatch.notify("escalation", req)
            elif stage == 1 and fallback is not None and _remaining_deciders(req, {fallback}, user):
                details.update(to="fallback", fallback_group=permissions.fallback_group_name())
            else:
                details["to"] = "nobody"
                outcome = Outcome.ERROR
            record(action=Action.ACCESS_REQUEST_REROUTED, target=req, outcome=outcome, details=details,
                   system_actor=system_actor)  # fmt: skip
            count += 1
    return count
