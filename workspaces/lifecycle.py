"""What a leaver or a mover means for workspaces (receivers of ``portal.lifecycle``).

A leaver's live workspaces are stopped — or deleted with ``ENCLAVE_LEAVER_WORKSPACE_ACTION=delete`` —
in the leaver's transaction (state + audit, named after the IdP connection), and the cloud work
runs after commit through the ordinary lifecycle tasks. A workspace never built is deleted at
once (it must not be built for someone who left). One still provisioning or starting cannot be
stopped yet: a follow-up task stops it as soon as it runs. Losing the data scientist role stops
running workspaces the same way. Nothing is restarted when a person comes back.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app, shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from audit.actions import Action
from core.roles import Role
from portal import lifecycle
from workspaces import gates
from workspaces.models import LIVE_STATES, Workspace, WorkspaceState
from workspaces.services import NEVER_BUILT, _lock, _move, enqueue

S = WorkspaceState
log = logging.getLogger(__name__)
STOP, DELETE = "stop", "delete"
FOLLOW_UP_TASK = "workspaces.offboard_leaver"
FOLLOW_UP_SECONDS = 5
FOLLOW_UP_ATTEMPTS = 120  # ten minutes of provisioning/starting at most


def leaver_action() -> str:
    action = str(getattr(settings, "ENCLAVE_LEAVER_WORKSPACE_ACTION", STOP) or STOP).lower()
    return action if action in (STOP, DELETE) else STOP


def stop_for_offboarding(ws: Workspace, *, system_actor: str, reason: str) -> bool:
    """Stop a running workspace whose owner left or is no longer a scientist (the system acts,
    not the owner). Returns whether a stop was scheduled."""
    with transaction.atomic():
        ws = _lock(ws.pk)
        if ws.state != S.RUNNING:
            return False
        _move(ws, ws.begin_stop, Action.WORKSPACE_STOP_REQUESTED, details={"reason": reason}, system_actor=system_actor)
        enqueue("stop_workspace", ws)
    return True


def delete_for_offboarding(ws: Workspace, *, system_actor: str, reason: str) -> bool:
    """Delete a leaver's workspace and what was built for it in the cloud."""
    with transaction.atomic():
        ws = _lock(ws.pk)
        if ws.state in (S.DELETING, S.DELETED, S.REJECTED):
            return False
        before = ws.state
        details = {"reason": reason}
        _move(ws, ws.begin_delete, Action.WORKSPACE_DELETE_REQUESTED, details=details, system_actor=system_actor)
        if before == S.PENDING_APPROVAL:
            gates.gate().close(ws, actor=None)
        if before in NEVER_BUILT:
            _move(
                ws, ws.mark_deleted, Action.WORKSPACE_DELETED, details={**details, "cloud": "never built"},
                system_actor=system_actor,
            )  # fmt: skip
        else:
            enqueue("delete_workspace", ws)
    return True


def offboard_workspaces(user: Any, *, system_actor: str, action: str, reason: str) -> dict[str, int]:
    """Stop (or delete) every live workspace of ``user``; returns counts, including those still
    provisioning or starting (``waiting``) that a follow-up will stop."""
    counts = {"stopped": 0, "deleted": 0, "waiting": 0}
    for ws in Workspace.objects.filter(owner_id=user.pk, state__in=LIVE_STATES).order_by("created_at"):
        if action == DELETE:
            counts["deleted"] += delete_for_offboarding(ws, system_actor=system_actor, reason=reason)
        elif ws.state == S.RUNNING:
            counts["stopped"] += stop_for_offboarding(ws, system_actor=system_actor, reason=reason)
        elif ws.state in (S.REQUESTED, S.APPROVED):  # about to be built for someone who left
            counts["deleted"] += delete_for_offboarding(ws, system_actor=system_actor, reason=reason)
        elif ws.state in (S.PROVISIONING, S.STARTING):
            counts["waiting"] += 1
    return counts


def _schedule_follow_up(user_id: Any, attempt: int, system_actor: str, reason: str) -> None:
    transaction.on_commit(
        lambda: current_app.send_task(
            FOLLOW_UP_TASK, args=[user_id, attempt, system_actor, reason], countdown=FOLLOW_UP_SECONDS
        )
    )


@shared_task(name=FOLLOW_UP_TASK)
def offboard_leaver(user_id: Any, attempt: int, system_actor: str, reason: str) -> dict[str, int]:
    """Stop what was still provisioning or starting when its owner left (re-checks that they
    are still gone and still waiting; gives up after ``FOLLOW_UP_ATTEMPTS``)."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or user.is_active:
        return {}
    with transaction.atomic():
        counts = offboard_workspaces(user, system_actor=system_actor, action=leaver_action(), reason=reason)
        if counts["waiting"] and attempt < FOLLOW_UP_ATTEMPTS:
            _schedule_follow_up(user_id, attempt + 1, system_actor, reason)
        elif counts["waiting"]:
            log.error("leaver %s: %d workspace(s) never became stoppable", user_id, counts["waiting"])
    return counts


def _on_deactivated(sender: Any, user: Any, actor_label: str, **_: Any) -> None:
    reason = "the owner left (deactivated by the identity provider)"
    counts = offboard_workspaces(user, system_actor=actor_label, action=leaver_action(), reason=reason)
    if counts["waiting"]:
        _schedule_follow_up(user.pk, 1, actor_label, reason)


def _on_roles_changed(sender: Any, user: Any, lost: frozenset[Role], actor_label: str, **_: Any) -> None:
    if Role.DATA_SCIENTIST not in lost:
        return
    reason = "the owner is no longer a data scientist"
    for ws in Workspace.objects.filter(owner_id=user.pk, state=S.RUNNING):
        stop_for_offboarding(ws, system_actor=actor_label, reason=reason)


def connect() -> None:
    lifecycle.user_deactivated.connect(_on_deactivated, dispatch_uid="workspaces.lifecycle.deactivated")
    lifecycle.roles_changed.connect(_on_roles_changed, dispatch_uid="workspaces.lifecycle.roles_changed")
