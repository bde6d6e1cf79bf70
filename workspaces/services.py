"""Writes of the workspace lifecycle: requesting, approving, stopping, starting, deleting,
retrying and opening a workspace, and the state moves the provisioning tasks make.

Every state change happens here, under a row lock, together with its audit event in one
transaction; cloud work is scheduled with ``transaction.on_commit`` and done by
``workspaces.tasks`` (the web never waits on a cloud API — see ``open_workspace`` for the
one deliberate exception).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from audit.actions import Action, Outcome
from audit.services import record, record_denied
from catalog.models import Template
from catalog.selectors import published_version, quota_for
from catalog.specs import SpecInvalid, parse_spec
from core.roles import Role, has_role
from portal.identity.selectors import entra_object_id_for
from workspaces import backends, dispatch, gates
from workspaces.backends.base import CloudError, CloudRef, CloudState, CloudStatus, Provider, WorkspaceSpec
from workspaces.exceptions import (
    InvalidTransition,
    NotAllowed,
    QuotaExceeded,
    WorkspaceNotFound,
    WorkspaceRequestInvalid,
    WorkspaceUnavailable,
)
from workspaces.models import IN_FLIGHT_STATES, LIVE_STATES, RUNNING_STATES, Workspace, WorkspaceState
from workspaces.permissions import can_operate, can_request, is_owner

S = WorkspaceState
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,59}$")
COST_CENTRE_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# States whose cloud work is in progress: pages poll them, tasks advance them.
TRANSITIONAL_STATES = frozenset({S.REQUESTED, S.APPROVED, S.PROVISIONING, S.STOPPING, S.STARTING, S.DELETING})
# States that use up the running quota (pending approval counts: approval must not exceed it).
QUOTA_RUNNING_STATES = [*RUNNING_STATES, S.PENDING_APPROVAL]
# States whose cloud resource should exist (reconciliation expects to find it).
CLOUD_STATES = frozenset({S.RUNNING, S.STOPPING, S.STOPPED, S.STARTING})
PROVIDER_NAMES = {Provider.AWS_SAGEMAKER.value: "AWS", Provider.AZURE_ML.value: "Azure"}


def provider_name(provider: str) -> str:
    return PROVIDER_NAMES.get(provider, provider)


def operation_timeout_seconds() -> int:
    return int(settings.ENCLAVE_WORKSPACE_TIMEOUT_MINUTES) * 60


def poll_countdown(attempt: int) -> int:
    """Exponential back-off for polling the cloud: 2, 4, 8, 16, then the ceiling (30 s)."""
    ceiling = int(settings.ENCLAVE_WORKSPACE_POLL_MAX_SECONDS)
    return int(min(2 ** max(attempt, 1), ceiling))


# --- scheduling work ---------------------------------------------------------------------


# The lifecycle tasks by their function name in ``workspaces.tasks`` and their registered Celery
# name: services publish by name, so this module never imports the tasks that import it.
TASK_NAMES = {
    "provision_workspace": "workspaces.provision",
    "poll_workspace": "workspaces.poll",
    "stop_workspace": "workspaces.stop",
    "start_workspace": "workspaces.start",
    "delete_workspace": "workspaces.delete",
}


def send_task(task_name: str, workspace_id: str, countdown: float | None = None) -> None:
    """Publish one lifecycle task (tests replace this to run tasks themselves).

    Never raises for a broker failure: the workspace's ``next_due_at`` is already committed, so
    the sweeper re-sends the task when it is overdue (see ``workspaces.dispatch``)."""
    if not dispatch.publish(TASK_NAMES[task_name], [workspace_id], countdown=countdown):
        # Due now: the sweeper's next run (once the broker answers again) sends it.
        Workspace.objects.filter(pk=workspace_id, state__in=IN_FLIGHT_STATES).update(next_due_at=timezone.now())


def enqueue(task_name: str, ws: Workspace | str, *, countdown: float | None = None) -> None:
    """Schedule ``task_name`` for the workspace once the current transaction commits."""
    workspace_id = str(ws.pk if isinstance(ws, Workspace) else ws)
    transaction.on_commit(lambda: send_task(task_name, workspace_id, countdown))


def sweep_grace() -> timedelta:
    """How long after it was due an item's task may stay silent before the sweeper re-sends it."""
    return timedelta(seconds=int(settings.ENCLAVE_SWEEP_GRACE_SECONDS))


def due_after(countdown: float | None = None, now: datetime | None = None) -> datetime:
    """When work scheduled ``countdown`` seconds from now must have reported back by."""
    return (now or timezone.now()) + timedelta(seconds=float(countdown or 0)) + sweep_grace()


def postpone(workspace_id: str, countdown: float | None) -> None:
    """A task is about to schedule its own next step (a poll, a retry) ``countdown`` seconds from
    now: move the workspace's due time past it, so the sweeper only steps in if that step is lost."""
    Workspace.objects.filter(pk=workspace_id, state__in=IN_FLIGHT_STATES).update(next_due_at=due_after(countdown))


def schedule(task_name: str, workspace_id: str, countdown: float | None = None) -> None:
    """A task's follow-up step: record when it is due, then publish it."""
    postpone(workspace_id, countdown)
    send_task(task_name, workspace_id, countdown)


# --- the one way a state changes --------------------------------------------------------


def _lock(workspace_id: Any) -> Workspace:
    return (
        Workspace.objects.select_for_update().select_related("owner", "template_version__template").get(pk=workspace_id)
    )


def _close_running_period(ws: Workspace, now: datetime) -> None:
    if ws.running_since is not None:
        ws.accrued_running_seconds += max(0, int((now - ws.running_since).total_seconds()))
        ws.running_since = None


def _move(
    ws: Workspace,
    transition: Callable[..., Any],
    action: Action,
    *,
    actor: Any = None,
    outcome: Outcome = Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
    args: tuple[Any, ...] = (),
    system_actor: str = "",
) -> None:
    """Apply one declared transition, keep the bookkeeping fields right, save, and audit it.

    Must run inside the transaction holding the workspace's row lock.
    """
    before = ws.state
    transition(*args)
    now = timezone.now()
    after = ws.state
    if after in (S.PROVISIONING, S.STOPPING, S.STARTING, S.DELETING):
        ws.operation_started_at = now
        ws.poll_attempts = 0
    if after == S.RUNNING:
        ws.running_since = ws.running_since or now
    if after in (S.STOPPED, S.FAILED, S.DELETED):
        _close_running_period(ws, now)
    if after == S.DELETED:
        ws.deleted_at = now
    # Durable work: a state that owes a task records when it is due; any other owes nothing.
    ws.next_due_at = due_after(0, now) if after in IN_FLIGHT_STATES else None
    if after != S.FAILED and before == S.FAILED:
        ws.last_error, ws.last_error_code, ws.failed_during = "", "", ""
    ws.save()
    record(
        action=action,
        actor=actor,
        target=ws,
        outcome=outcome,
        details={"from": before, "to": after, **(details or {})},
        system_actor=system_actor,
    )


def _deny(actor: Any, ws: Workspace, action: str) -> WorkspaceNotFound:
    """Someone else's workspace: audit the attempt and answer as if it did not exist."""
    record_denied(actor=actor, target=ws, reason=f"not the owner: {action}", attempted=action)
    return WorkspaceNotFound()


def _check_owner(actor: Any, ws: Workspace, action: str) -> None:
    if not can_operate(actor, ws):
        raise _deny(actor, ws, action)


# --- requesting -------------------------------------------------------------------------


def _counts(owner_id: int, template_id: int) -> dict[str, int]:
    """Live, quota-running and per-template counts for one user in one query."""
    counts = Workspace.objects.filter(owner_id=owner_id).aggregate(
        total=Count("pk", filter=Q(state__in=LIVE_STATES)),
        running=Count("pk", filter=Q(state__in=QUOTA_RUNNING_STATES)),
        of_template=Count("pk", filter=Q(state__in=LIVE_STATES, template_version__template_id=template_id)),
    )
    return {k: int(v or 0) for k, v in counts.items()}


def _validate_request(
    template: Template | None,
    *,
    name: str,
    instance_type: str,
    volume_size_gb: int | None,
    data_classification: str,
    cost_centre: str,
) -> tuple[Any, int]:
    """The template's published version and the volume to use, or ``WorkspaceRequestInvalid``."""
    if template is None:
        raise WorkspaceRequestInvalid("No such template.", field_errors={"template": ["No such template."]})
    version = published_version(template)
    if version is None:
        raise WorkspaceRequestInvalid(
            f"{template.name} has no published version: it cannot be requested now.",
            field_errors={"template": ["This template has no published version."]},
        )
    try:
        spec = parse_spec(template.provider, version.spec)
    except SpecInvalid as exc:  # a published spec always validated; refuse rather than guess
        raise WorkspaceRequestInvalid(f"{template.name}'s published version is invalid: {exc}") from exc

    errors: dict[str, list[str]] = {}
    if not NAME_RE.match(name or ""):
        errors["name"] = ["Use 1–60 letters, digits, spaces, dots, dashes or underscores, starting with a letter."]
    if instance_type not in spec.allowed_sizes:
        errors["instance_type"] = [f"Choose one of: {', '.join(spec.allowed_sizes)}."]
    volume = 0
    if spec.max_volume_gb is not None:
        low = int(getattr(spec, "volume_size_gb_min", 5))
        high = spec.max_volume_gb
        if volume_size_gb is None:
            volume = int(getattr(spec, "volume_size_gb_default", low))
        elif not low <= volume_size_gb <= high:
            errors["volume_size_gb"] = [f"Choose between {low} and {high} GB."]
        else:
            volume = volume_size_gb
    elif volume_size_gb not in (None, 0):
        errors["volume_size_gb"] = ["This template does not let you choose the volume size."]
    if data_classification not in template.classifications:
        allowed = ", ".join(template.classifications) or "none"
        errors["data_classification"] = [f"This template may hold only: {allowed}."]
    if not COST_CENTRE_RE.match(cost_centre or ""):
        errors["cost_centre"] = ["A cost centre is required (letters, digits, dots, dashes)."]
    if errors:
        raise WorkspaceRequestInvalid("The request does not fit the template.", field_errors=errors)
    return version, volume


def request_workspace(
    actor: Any,
    template_slug: str,
    name: str,
    instance_type: str,
    volume_size_gb: int | None,
    data_classification: str,
    cost_centre: str | None = None,
) -> Workspace:
    """Record a data scientist's request for a workspace and schedule its provisioning.

    Rules: only data scientists request (separation of duties: approvers and auditors
    must not run workloads they oversee); only a template's published version is
    built; the instance size, volume and data classification must be ones the version
    and template allow; the user's role quota (running and total) and the template's
    per-user limit hold even under concurrent requests, because the user's row is
    locked before counting. Refusals change nothing and are audited.
    """
    name = (name or "").strip()
    cost_centre = (cost_centre or getattr(actor, "cost_centre", "") or "").strip()
    try:
        if not can_request(actor):
            raise NotAllowed("Only data scientists can request workspaces.")
        template = Template.objects.filter(slug=template_slug).first()
        version, volume = _validate_request(
            template,
            name=name,
            instance_type=instance_type,
            volume_size_gb=volume_size_gb,
            data_classification=data_classification,
            cost_centre=cost_centre,
        )
        assert template is not None
        with transaction.atomic():
            get_user_model().objects.select_for_update().filter(pk=actor.pk).first()
            counts = _counts(actor.pk, template.pk)
            max_running, max_total = quota_for(actor)
            if counts["total"] >= max_total:
                raise QuotaExceeded(f"You already have {counts['total']} workspaces; your quota is {max_total}.")
            if counts["running"] >= max_running:
                raise QuotaExceeded(
                    f"You already have {counts['running']} running or starting workspaces; your quota is "
                    f"{max_running}. Stop one first."
                )
            if counts["of_template"] >= template.max_workspaces_per_user:
                raise QuotaExceeded(
                    f"{template.name} allows {template.max_workspaces_per_user} workspaces per person; "
                    f"you have {counts['of_template']}."
                )
            workspace_id = uuid.uuid4()
            ws = Workspace.objects.create(
                id=workspace_id,
                owner=actor,
                template_version=version,
                name=name,
                provider=template.provider,
                instance_type=instance_type,
                volume_size_gb=volume,
                data_classification=data_classification,
                cost_centre=cost_centre,
                resource_name=f"enclave-{workspace_id.hex[:12]}",
                next_due_at=due_after(0),
            )
            record(
                action=Action.WORKSPACE_REQUESTED,
                actor=actor,
                target=ws,
                details={
                    "to": ws.state,
                    "template": template.slug,
                    "template_version": version.number,
                    "instance_type": instance_type,
                    "volume_size_gb": volume,
                    "data_classification": data_classification,
                    "cost_centre": cost_centre,
                    "resource_name": ws.resource_name,
                },
            )
            if template.needs_approval:
                _move(ws, ws.await_approval, Action.WORKSPACE_APPROVAL_REQUESTED, actor=actor)
                gates.gate().open(ws)  # the approvals app puts it in the inbox
            else:
                enqueue("provision_workspace", ws)
        return ws
    except (WorkspaceRequestInvalid, QuotaExceeded, NotAllowed) as exc:
        record_denied(
            actor=actor,
            action=Action.WORKSPACE_REQUEST_REFUSED,
            target=("catalog.template", template_slug, template_slug),
            reason=exc.message,
            fields=exc.field_errors,
        )
        raise


def _require_approver_of(actor: Any, ws: Workspace, verb: str) -> None:
    """Only an approver who is not the requester decides a workspace (four-eyes principle);
    anyone else is refused and the refusal audited."""
    if not has_role(actor, Role.APPROVER) or ws.owner_id == actor.pk:
        record_denied(actor=actor, target=ws, reason=f"may not {verb} this workspace")
        raise NotAllowed(f"You may not {verb} this workspace.")


def _lock_pending_approval(ws: Workspace) -> Workspace:
    """The workspace locked for a decision (call inside the deciding transaction); it must still
    await approval, so a late or repeated decision changes nothing."""
    locked = _lock(ws.pk)
    if locked.state != S.PENDING_APPROVAL:
        raise InvalidTransition(f"The workspace is {locked.get_state_display().lower()}, not pending approval.")
    return locked


def approve_workspace(ws: Workspace, actor: Any, comment: str = "") -> Workspace:
    """An approver lets a pending workspace be built. Never the requester themself
    (four-eyes principle); called by the approvals app once its policy is satisfied."""
    _require_approver_of(actor, ws, "approve")
    with transaction.atomic():
        ws = _lock_pending_approval(ws)
        _move(ws, ws.approve, Action.WORKSPACE_APPROVED, actor=actor, details={"comment": comment})
        enqueue("provision_workspace", ws)
    return ws


def reject_workspace(ws: Workspace, actor: Any, reason: str) -> Workspace:
    """An approver refuses a pending workspace; nothing is built. Never the requester themself."""
    _require_approver_of(actor, ws, "reject")
    with transaction.atomic():
        ws = _lock_pending_approval(ws)
        _move(ws, ws.reject, Action.WORKSPACE_REJECTED, actor=actor, details={"reason": reason})
    return ws


def cancel_workspace_request(ws: Workspace, *, reason: str, actor: Any = None, system_actor: str = "") -> Workspace:
    """End a workspace request whose approval will never come: pending approval → rejected.

    Called by the approvals app when the workspace's approval item is withdrawn by its
    requester (``actor`` is then the owner) or times out (``actor`` is ``None``: the system,
    named by ``system_actor``). Without it the workspace would sit in pending approval,
    counting against its owner's running quota, with nobody able to move it on. Only the
    owner or the system may cancel — never another user. The reason is audited with the
    move. A workspace no longer pending approval (approved meanwhile, deleted by its owner)
    is left as it is, so a late or repeated call changes nothing.
    """
    if actor is not None and not is_owner(actor, ws):
        raise _deny(actor, ws, "cancel")
    reason = (reason or "").strip() or "the approval request was closed"
    with transaction.atomic():
        ws = _lock(ws.pk)
        if ws.state != S.PENDING_APPROVAL:
            return ws
        _move(
            ws,
            ws.reject,
            Action.WORKSPACE_REQUEST_CANCELLED,
            actor=actor,
            details={"reason": reason},
            system_actor=system_actor,
        )
    return ws


# --- the owner's actions ------------------------------------------------------------------


def _check_running_quota(actor: Any, ws: Workspace) -> None:
    get_user_model().objects.select_for_update().filter(pk=actor.pk).first()
    counts = _counts(actor.pk, ws.template_version.template_id)
    max_running, _ = quota_for(actor)
    if counts["running"] >= max_running:
        raise QuotaExceeded(
            f"You already have {counts['running']} running or starting workspaces; your quota is {max_running}."
        )


def stop_workspace(actor: Any, ws: Workspace) -> Workspace:
    """The owner stops a running workspace (its disk is kept; compute billing stops)."""
    _check_owner(actor, ws, "stop")  # outside the transaction, so the denial stays audited
    with transaction.atomic():
        ws = _lock(ws.pk)
        if ws.state != S.RUNNING:
            raise InvalidTransition(f"Only a running workspace can be stopped; this one is {ws.state}.")
        _move(ws, ws.begin_stop, Action.WORKSPACE_STOP_REQUESTED, actor=actor)
        enqueue("stop_workspace", ws)
    return ws


def start_workspace(actor: Any, ws: Workspace) -> Workspace:
    """The owner starts a stopped workspace, within their running quota."""
    _check_owner(actor, ws, "start")  # outside the transaction, so the denial stays audited
    with transaction.atomic():
        ws = _lock(ws.pk)
        if ws.state != S.STOPPED:
            raise InvalidTransition(f"Only a stopped workspace can be started; this one is {ws.state}.")
        _check_running_quota(actor, ws)
        _move(ws, ws.begin_start, Action.WORKSPACE_START_REQUESTED, actor=actor)
        enqueue("start_workspace", ws)
    return ws


NEVER_BUILT = frozenset({S.REQUESTED, S.PENDING_APPROVAL, S.APPROVED, S.REJECTED})


def delete_workspace(actor: Any, ws: Workspace) -> Workspace:
    """The owner deletes a workspace and everything built for it in the cloud.

    A workspace never built (still awaiting approval or provisioning) is deleted at once;
    the provisioning task re-checks state under lock, so it will not build it later.
    """
    _check_owner(actor, ws, "delete")  # outside the transaction, so the denial stays audited
    with transaction.atomic():
        ws = _lock(ws.pk)
        if ws.state in (S.DELETING, S.DELETED):
            raise InvalidTransition(f"The workspace is already {ws.state}.")
        before = ws.state
        _move(ws, ws.begin_delete, Action.WORKSPACE_DELETE_REQUESTED, actor=actor)
        if before == S.PENDING_APPROVAL:
            gates.gate().close(ws, actor=actor)  # its item leaves the inbox
        if before in NEVER_BUILT:
            _move(ws, ws.mark_deleted, Action.WORKSPACE_DELETED, actor=actor, details={"cloud": "never built"})
        else:
            enqueue("delete_workspace", ws)
    return ws


def retry_workspace(actor: Any, ws: Workspace) -> Workspace:
    """The owner retries a failed workspace: it resumes what failed (deletion, or building
    it — provisioning adopts the existing cloud resource, found by its deterministic name)."""
    _check_owner(actor, ws, "retry")  # outside the transaction, so the denial stays audited
    with transaction.atomic():
        ws = _lock(ws.pk)
        if ws.state != S.FAILED:
            raise InvalidTransition(f"Only a failed workspace can be retried; this one is {ws.state}.")
        failed_during = ws.failed_during
        details = {"failed_during": failed_during, "last_error": ws.last_error}
        if failed_during == S.DELETING:
            _move(ws, ws.begin_delete, Action.WORKSPACE_RETRIED, actor=actor, details=details)
            enqueue("delete_workspace", ws)
        else:
            _check_running_quota(actor, ws)
            _move(ws, ws.begin_provisioning, Action.WORKSPACE_RETRIED, actor=actor, details=details)
            enqueue("provision_workspace", ws)
    return ws


def open_workspace(actor: Any, ws: Workspace) -> str:
    """A short-lived sign-in URL to the owner's running notebook; audited.

    Only the owner may open it: the URL is a bearer credential to a notebook that may
    hold production data. The session lasts ``ENCLAVE_NOTEBOOK_SESSION_SECONDS``.
    """
    _check_owner(actor, ws, "open")
    if ws.state != S.RUNNING or not ws.cloud_ref:
        raise InvalidTransition("Only a running workspace can be opened.")
    backend = backends.get_backend(ws.provider)
    session_seconds = int(settings.ENCLAVE_NOTEBOOK_SESSION_SECONDS)
    try:
        url = backend.open_url(
            CloudRef.from_json(ws.cloud_ref), username=actor.get_username(), session_seconds=session_seconds
        )
    except CloudError as exc:
        record(
            action=Action.WORKSPACE_OPENED,
            actor=actor,
            target=ws,
            outcome=Outcome.ERROR,
            details={"error": exc.user_message},
        )
        raise WorkspaceUnavailable(exc.user_message) from exc
    record(action=Action.WORKSPACE_OPENED, actor=actor, target=ws, details={"session_seconds": session_seconds})
    return url


# --- what the tasks report --------------------------------------------------------------


def build_spec(ws: Workspace) -> WorkspaceSpec:
    """Everything the backend needs, with the mandatory tags (the template's and Enclave's own)."""
    version = ws.template_version
    template = version.template
    hardening = dict(version.spec)
    tags = {
        **{str(k): str(v) for k, v in (hardening.get("mandatory_tags") or {}).items()},
        "enclave:managed": "true",
        "enclave:workspace-id": str(ws.pk),
        "owner": ws.owner.get_username(),
        "template": template.slug,
        "template-version": str(version.number),
        "cost-centre": ws.cost_centre,
        "data-classification": ws.data_classification,
    }
    return WorkspaceSpec(
        workspace_id=str(ws.pk),
        resource_name=ws.resource_name,
        owner_username=ws.owner.get_username(),
        owner_cloud_id=entra_object_id_for(ws.owner),
        template_slug=template.slug,
        template_version=version.number,
        instance_type=ws.instance_type,
        volume_size_gb=ws.volume_size_gb,
        data_classification=ws.data_classification,
        cost_centre=ws.cost_centre,
        hardening=hardening,
        tags=tags,
    )


def begin_provisioning(workspace_id: str) -> Workspace | None:
    """Move a requested/approved workspace to provisioning; ``None`` if there is nothing to build
    (deleted, rejected, already running...). A workspace already provisioning is returned as is,
    so a re-delivered task re-issues the (idempotent) create call."""
    with transaction.atomic():
        ws = _lock(workspace_id)
        if ws.state in (S.REQUESTED, S.APPROVED):
            _move(ws, ws.begin_provisioning, Action.WORKSPACE_PROVISIONING, details={"resource_name": ws.resource_name})
        elif ws.state != S.PROVISIONING:
            return None
        return ws


def store_cloud_ref(workspace_id: str, ref: CloudRef) -> bool:
    """Remember where the workspace lives; True if it is still provisioning (so poll it)."""
    with transaction.atomic():
        ws = _lock(workspace_id)
        ws.cloud_ref = ref.to_json()
        ws.save(update_fields=["cloud_ref", "updated_at"])
        return ws.state == S.PROVISIONING


@dataclass(frozen=True)
class PollResult:
    """What a poll decided: ``countdown`` seconds until the next poll, or None when done."""

    state: str
    countdown: int | None = None


def _fail(ws: Workspace, message: str, code: str, *, actor: Any = None) -> None:
    ws.failed_during = ws.state
    ws.last_error = message[:2000]
    ws.last_error_code = code[:40]
    _move(ws, ws.mark_failed, Action.WORKSPACE_FAILED, actor=actor, outcome=Outcome.ERROR,
          details={"message": message, "code": code})  # fmt: skip


def _pending(ws: Workspace, status_word: str) -> PollResult:
    ws.poll_attempts += 1
    started = ws.operation_started_at or ws.updated_at
    if (timezone.now() - started).total_seconds() > operation_timeout_seconds():
        minutes = operation_timeout_seconds() // 60
        _fail(
            ws,
            f"Timed out waiting for {provider_name(ws.provider)} after {minutes} minutes "
            f"(last status: {status_word or 'unknown'}).",
            "timeout",
        )
        return PollResult(ws.state)
    ws.save(update_fields=["poll_attempts", "cloud_status", "updated_at"])
    return PollResult(ws.state, poll_countdown(ws.poll_attempts))


def apply_cloud_status(workspace_id: str, expected_state: str, status: CloudStatus) -> PollResult:
    """Advance a transitional workspace from what the cloud reports, re-checking its state
    under lock: if someone moved it meanwhile (a duplicate task, the owner), do nothing."""
    with transaction.atomic():
        ws = _lock(workspace_id)
        if ws.state != expected_state:
            return PollResult(ws.state)
        ws.cloud_status = status.raw_status[:40]
        cloud = status.state
        if cloud == CloudState.FAILED:
            _fail(ws, status.message or f"{provider_name(ws.provider)} reported the workspace as failed.", "cloud")
        elif cloud == CloudState.DELETED:
            _fail(ws, f"The workspace no longer exists in {provider_name(ws.provider)}.", "missing")
        elif ws.state in (S.PROVISIONING, S.STARTING) and cloud == CloudState.RUNNING:
            ws.applied_hardening = dict(status.hardening)
            _move(ws, ws.mark_running, Action.WORKSPACE_RUNNING,
                  details={"cloud_status": status.raw_status, "hardening": dict(status.hardening)})  # fmt: skip
        elif ws.state in (S.STOPPING, S.PROVISIONING) and cloud == CloudState.STOPPED:
            # Provisioning can adopt a stopped instance (a retry after a failed start or stop).
            if status.hardening:
                ws.applied_hardening = dict(status.hardening)
            _move(ws, ws.mark_stopped, Action.WORKSPACE_STOPPED, details={"cloud_status": status.raw_status})
        else:
            return _pending(ws, status.raw_status)
        return PollResult(ws.state)


def finish_delete(workspace_id: str, status: CloudStatus | None) -> PollResult:
    """Record one deletion step: deleted when the cloud no longer has it, else poll again."""
    with transaction.atomic():
        ws = _lock(workspace_id)
        if ws.state != S.DELETING:
            return PollResult(ws.state)
        if status is None or status.state == CloudState.DELETED:
            details = {"cloud": "deleted"} if status is not None else {"cloud": "no cloud resource was recorded"}
            _move(ws, ws.mark_deleted, Action.WORKSPACE_DELETED, details=details)
            return PollResult(ws.state)
        # Anything else (stopping first, deleting, even failed) is a step on the way: the backend's
        # ``delete`` knows how to advance each; the operation time-out bounds the wait.
        ws.cloud_status = status.raw_status[:40]
        return _pending(ws, status.raw_status)


def delete_without_cloud_ref(workspace_id: str) -> PollResult:
    """Deleting a workspace whose cloud resource was never recorded: a create call may still be
    in flight, so wait a few polls for it to record where it built, then finish (reconciliation
    reports any orphan it may have left, found by its tags)."""
    with transaction.atomic():
        ws = _lock(workspace_id)
        if ws.state != S.DELETING or ws.cloud_ref:
            return PollResult(ws.state, 0 if ws.state == S.DELETING else None)
        if ws.poll_attempts < 4:
            ws.poll_attempts += 1
            ws.save(update_fields=["poll_attempts", "updated_at"])
            return PollResult(ws.state, poll_countdown(ws.poll_attempts))
    return finish_delete(workspace_id, None)


def fail_workspace(workspace_id: str, message: str, code: str) -> bool:
    """A cloud call failed for good: the workspace is ``failed`` with a message the owner can act on."""
    with transaction.atomic():
        ws = _lock(workspace_id)
        if ws.state not in (S.PROVISIONING, S.STARTING, S.STOPPING, S.DELETING, S.RUNNING):
            return False
        _fail(ws, message, code)
        return True


def reconcile_state(workspace_id: str, expected_state: str, observed: str, details: dict[str, Any]) -> bool:
    """The cloud moved a settled workspace on its own (idle shutdown, console, deletion): follow it."""
    with transaction.atomic():
        ws = _lock(workspace_id)
        if ws.state != expected_state or ws.state == observed:
            return False
        if observed == S.FAILED:
            ws.failed_during = ws.state
            ws.last_error = str(details.get("message") or "")[:2000]
            ws.last_error_code = str(details.get("code") or "drift")[:40]
        if observed == S.RUNNING and details.get("hardening") and not ws.applied_hardening:
            ws.applied_hardening = dict(details["hardening"])
        _move(ws, ws.reconcile, Action.WORKSPACE_STATE_RECONCILED, details=details, args=(observed,))
        return True


def time_out_workspace(workspace_id: str, now: datetime | None = None) -> bool:
    """The sweeper's deadline: an operation that has not finished within the time-out fails, with
    a message the owner can act on (retry resumes it), even if no poll ever comes to notice."""
    now = now or timezone.now()
    with transaction.atomic():
        ws = _lock(workspace_id)
        started = ws.operation_started_at
        if ws.state not in (S.PROVISIONING, S.STARTING, S.STOPPING, S.DELETING) or started is None:
            return False
        if (now - started).total_seconds() <= operation_timeout_seconds():
            return False
        minutes = operation_timeout_seconds() // 60
        _fail(
            ws,
            f"Timed out waiting for {provider_name(ws.provider)} after {minutes} minutes "
            f"(last status: {ws.cloud_status or 'unknown'}).",
            "timeout",
        )
        return True
