"""Approvers' decisions: approve, deny, and the two-person rule; never one's own request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals import permissions
from approvals.exceptions import (
    AlreadyDecided,
    NotAllowed,
    RequestInvalid,
    RequestNotFound,
)
from approvals.models import (
    AccessRequest,
    Decision,
    Grant,
    RequestKind,
    Verdict,
)
from approvals.services import dispatch
from approvals.services.common import R, _audited_refusal, _describe, _fallback_group_id, _id_and_target, _lock, _move
from audit.actions import Action
from audit.services import record


def _approvals(req: AccessRequest, stage: int) -> int:
    return req.decisions.filter(stage=stage, verdict=Verdict.APPROVE).count()


def current_stage(req: AccessRequest, stage_one_approvals: int | None = None) -> int:
    done = _approvals(req, 1) if stage_one_approvals is None else stage_one_approvals
    return 1 if done < req.approvals_required else 2


def decide(actor: Any, req: AccessRequest | str, verdict: str, comment: str = "") -> AccessRequest:
    """An approver approves or denies a pending request.

    Rules (a regulator's four-eyes principle, and separation of duties): never the requester,
    even when they are in the approver group; only approvers in the group deciding the current
    stage; a deny needs a comment; each approver decides once and a decided request is closed.
    The request row is locked, so two approvers racing on a one-approval request produce one
    approval and one refusal (and the database refuses a second decision by the same person).
    When the policy is satisfied the request is approved and its grant scheduled; a workspace
    request is handed to ``workspaces.services.approve_workspace`` / ``reject_workspace``.
    """
    request_id, target = _id_and_target(req)
    comment = (comment or "").strip()
    with _audited_refusal(actor, Action.ACCESS_REQUEST_DECISION_REFUSED, target, verdict=verdict):
        try:
            with transaction.atomic():
                try:
                    locked = _lock(request_id)
                except AccessRequest.DoesNotExist as exc:
                    raise RequestNotFound() from exc
                target = locked
                if permissions.is_requester(actor, locked):
                    raise NotAllowed("You cannot decide your own request.")
                if locked.state != R.PENDING:
                    raise AlreadyDecided(f"This request is already {locked.get_state_display().lower()}.")
                if locked.decisions.filter(approver=actor).exists():
                    raise AlreadyDecided("You have already decided this request.")
                stage_one = _approvals(locked, 1)
                stage = current_stage(locked, stage_one)
                if not permissions.may_decide_at(actor, locked, stage, _fallback_group_id()):
                    raise NotAllowed("Only approvers in this request's approver group may decide it.")
                if verdict not in Verdict.values:
                    raise RequestInvalid("Approve or deny.", field_errors={"verdict": ["Approve or deny."]})
                if verdict == Verdict.DENY and not comment:
                    raise RequestInvalid(
                        "Say why you deny it.", field_errors={"comment": ["A denial needs a comment."]}
                    )
                Decision.objects.create(request=locked, approver=actor, verdict=verdict, stage=stage, comment=comment)
                if verdict == Verdict.DENY:
                    _deny(actor, locked, comment, stage)
                else:
                    _record_approval(actor, locked, comment, stage, stage_one)
        except IntegrityError as exc:
            raise AlreadyDecided("You have already decided this request.") from exc
        return locked


def approve_request(actor: Any, req: AccessRequest | str, comment: str = "") -> AccessRequest:
    return decide(actor, req, Verdict.APPROVE, comment)


def deny_request(actor: Any, req: AccessRequest | str, comment: str) -> AccessRequest:
    return decide(actor, req, Verdict.DENY, comment)


def _deny(actor: Any, req: AccessRequest, comment: str, stage: int) -> None:
    req.decided_at = timezone.now()
    req.ended_at = req.decided_at
    _move(req, req.deny, Action.ACCESS_REQUEST_DENIED, actor=actor, details={"comment": comment, "stage": stage})
    if req.kind == RequestKind.WORKSPACE:
        from workspaces import services as workspace_services

        workspace_services.reject_workspace(req.workspace, actor, comment)
    dispatch.notify("decision", req, verdict=Verdict.DENY)


def _record_approval(actor: Any, req: AccessRequest, comment: str, stage: int, stage_one_before: int) -> None:
    stage_one = stage_one_before + (1 if stage == 1 else 0)
    stage_two = _approvals(req, 2)
    still_one = max(req.approvals_required - stage_one, 0)
    still_two = max(req.second_stage_approvals - stage_two, 0) if req.second_stage_group_id else 0
    record(
        action=Action.ACCESS_REQUEST_APPROVAL_RECORDED,
        actor=actor,
        target=req,
        details={**_describe(req), "stage": stage, "comment": comment, "still_needed": still_one + still_two},
    )
    if still_one or still_two:
        dispatch.notify("decision", req, verdict=Verdict.APPROVE, still_needed=still_one + still_two)
        if stage == 1 and not still_one:
            dispatch.notify("new_request", req, stage=2)
        return
    now = timezone.now()
    req.decided_at = now
    approvers = list(req.decisions.values_list("approver__username", flat=True))
    _move(req, req.approve, Action.ACCESS_REQUEST_APPROVED, actor=actor, details={"approvers": approvers})
    if req.kind == RequestKind.WORKSPACE:
        from workspaces import services as workspace_services

        workspace_services.approve_workspace(req.workspace, actor, comment)
    else:
        assert req.dataset is not None
        assert req.duration_hours is not None
        grant = Grant.objects.create(
            request=req,
            dataset=req.dataset,
            workspace=req.workspace,
            expires_at=now + timedelta(hours=req.duration_hours),
        )
        dispatch.enqueue("apply_grant", grant.pk)
    dispatch.notify("decision", req, verdict=Verdict.APPROVE, still_needed=0)
