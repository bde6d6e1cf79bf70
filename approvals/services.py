"""Writes of production-data access: the dataset catalog and its policies, access requests,
decisions, grants applied and removed, and the follow-ups beat runs (reminders,
escalations, time-outs, expiry warnings, expiry).

Every state change happens here, under a row lock on the request, together with its audit
event in one transaction; cloud work and e-mail are scheduled with ``transaction.on_commit``
and done by ``approvals.tasks``. Refusals change nothing and are audited in their own
transaction so they survive the caller's error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from approvals import permissions
from approvals.exceptions import (
    AlreadyDecided,
    DatasetInvalid,
    InvalidTransition,
    NotAllowed,
    RequestInvalid,
    RequestNotFound,
)
from approvals.models import (
    AccessRequest,
    ApprovalPolicy,
    Dataset,
    Decision,
    Grant,
    GrantStatus,
    RequestKind,
    RequestState,
    Verdict,
    validate_location,
)
from audit.actions import Action, Outcome
from audit.diffing import changes
from audit.services import Target, record, record_denied
from portal.api_errors import DomainError
from portal.roles import Role, role_group
from workspaces.backends.base import GrantRef
from workspaces.models import Classification, Workspace, WorkspaceState

R = RequestState
G = GrantStatus
CatalogRow = TypeVar("CatalogRow", Dataset, ApprovalPolicy)  # the catalog rows edited through the same steps
DEFAULT_POLICY_NAME = "Standard (one approver)"
WORKSPACE_POLICY_NAME = "Workspace approval"
# Workspaces a grant may be attached to: they exist in the cloud with their execution identity.
GRANTABLE_WORKSPACE_STATES = (WorkspaceState.RUNNING, WorkspaceState.STOPPED)
CLASSIFICATION_RANK: dict[str, int] = {
    Classification.INTERNAL: 0,
    Classification.CONFIDENTIAL: 1,
    Classification.RESTRICTED: 2,
}
MIN_JUSTIFICATION = 10
DATASET_FIELDS = (
    "name",
    "slug",
    "description",
    "steward",
    "classification",
    "provider",
    "location",
    "policy",
    "active",
)
POLICY_FIELDS = (
    "name", "approver_group", "approvals_required", "max_duration_hours", "justification_required",
    "two_person_rule", "second_stage_group", "second_stage_approvals",
)  # fmt: skip


# --- scheduling work ---------------------------------------------------------------------


def send_task(task_name: str, args: list[Any], countdown: float | None = None) -> None:
    """Publish one task (tests replace ``enqueue`` to run tasks themselves)."""
    from approvals import tasks

    getattr(tasks, task_name).apply_async(args=args, countdown=countdown)


def enqueue(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Schedule ``task_name`` once the current transaction commits (never for a rolled-back change)."""
    values = [a if isinstance(a, int | float | bool | dict | list | type(None)) else str(a) for a in args]
    transaction.on_commit(lambda: send_task(task_name, values, countdown))


def notify(kind: str, req: AccessRequest | str, **extra: Any) -> None:
    """E-mail the people ``kind`` concerns about ``req``, after commit (``approvals.notifications``)."""
    enqueue("send_notification", kind, str(req.pk if isinstance(req, AccessRequest) else req), extra or None)


# --- helpers ----------------------------------------------------------------------------------


def _now(now: datetime | None = None) -> datetime:
    return now or timezone.now()


def _fallback_group_id() -> int | None:
    name = permissions.fallback_group_name()
    if not name:
        return None
    return Group.objects.filter(name=name).values_list("id", flat=True).first()


def default_policy() -> ApprovalPolicy:
    """The policy a dataset gets when none is chosen: one approver from the approver role."""
    policy, _ = ApprovalPolicy.objects.get_or_create(
        name=DEFAULT_POLICY_NAME,
        defaults={"approver_group": role_group(Role.APPROVER), "approvals_required": 1, "max_duration_hours": 168},
    )
    return policy


def workspace_policy() -> ApprovalPolicy:
    """The policy workspace approvals follow (catalog admins may edit it like any other)."""
    policy, _ = ApprovalPolicy.objects.get_or_create(
        name=WORKSPACE_POLICY_NAME,
        defaults={
            "approver_group": role_group(Role.APPROVER),
            "approvals_required": 1,
            "max_duration_hours": 1,
            "justification_required": False,
        },
    )
    return policy


def _snapshot(obj: Model, fields: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, Model):
            value = str(value)
        out[name] = value
    return out


def _lock(request_id: Any) -> AccessRequest:
    return (
        AccessRequest.objects.select_for_update(of=("self",))
        .select_related("dataset", "workspace", "requester")
        .get(pk=request_id)
    )


def _move(
    req: AccessRequest,
    transition: Callable[[], None],
    action: Action,
    *,
    actor: Any = None,
    target: Target = None,
    outcome: Outcome = Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
    system_actor: str = "",
) -> None:
    """Apply one declared transition, save and audit it (inside the transaction holding the lock)."""
    before = req.state
    transition()
    req.save()
    record(
        action=action,
        actor=actor,
        target=target if target is not None else req,
        outcome=outcome,
        details={"from": before, "to": req.state, **_describe(req), **(details or {})},
        system_actor=system_actor,
    )


def _describe(req: AccessRequest) -> dict[str, Any]:
    """What an auditor needs to know which request this was."""
    out: dict[str, Any] = {
        "request": str(req.pk),
        "kind": req.kind,
        "requester": req.requester.get_username(),
        "workspace": str(req.workspace_id),
    }
    if req.dataset is not None:
        out.update(dataset=req.dataset.slug, classification=req.dataset.classification)
    return out


def _id_and_target(req: AccessRequest | str) -> tuple[Any, Target]:
    """The id to lock and the audit target of a request given as an object or an id (API and tasks
    pass ids): a refusal is audited against the request even when it cannot be loaded."""
    if isinstance(req, AccessRequest):
        return req.pk, req
    return req, ("approvals.accessrequest", str(req), "")


@contextmanager
def _audited_refusal(actor: Any, action: Action, target: Target, **details: Any) -> Iterator[None]:
    """Record a refusal (outside any rolled-back transaction) and let it propagate."""
    try:
        yield
    except DomainError as exc:
        record_denied(actor=actor, action=action, target=target, reason=exc.message, **details)
        raise


# --- the catalog: datasets and policies --------------------------------------------------------


def _others(qs: QuerySet[Any], instance: Model | None) -> QuerySet[Any]:
    return qs.exclude(pk=instance.pk) if instance is not None else qs


def _create_audited(
    model: type[CatalogRow], actor: Any, values: dict[str, Any], *, fields: tuple[str, ...], action: Action
) -> CatalogRow:
    """Create a validated catalog row from ``values`` (keys outside ``fields`` are ignored) and audit it
    with all its fields as ``after``, in one transaction."""
    with transaction.atomic():
        row = model._default_manager.create(**{k: v for k, v in values.items() if k in fields})
        record(action=action, actor=actor, target=row, details={"before": None, "after": _snapshot(row, fields)})
    return row


def _update_audited(
    model: type[CatalogRow],
    actor: Any,
    instance: CatalogRow,
    values: dict[str, Any],
    *,
    fields: tuple[str, ...],
    validate: Callable[..., None],
    action: Action,
) -> CatalogRow:
    """Edit a catalog row under a row lock: validate the stored values merged with ``values`` (so a
    partial edit is checked as the whole row it produces), set and save the given fields, and audit
    the changed fields before and after — all in one transaction, so a refused edit changes nothing."""
    with transaction.atomic():
        locked = model._default_manager.select_for_update().get(pk=instance.pk)
        before = _snapshot(locked, fields)
        validate({**{f: getattr(locked, f) for f in fields}, **values}, instance=locked)
        for name, value in values.items():
            if name in fields:
                setattr(locked, name, value)
        locked.save()
        record(action=action, actor=actor, target=locked, details=changes(before, _snapshot(locked, fields)))
    return locked


def _validate_dataset(values: dict[str, Any], *, instance: Dataset | None) -> None:
    errors: dict[str, list[str]] = {}
    if not (values.get("name") or "").strip():
        errors["name"] = ["A name is required."]
    slug = values.get("slug") or ""
    if not slug:
        errors["slug"] = ["A slug is required."]
    elif _others(Dataset.objects.filter(slug=slug), instance).exists():
        errors["slug"] = ["Another dataset already uses this slug."]
    if values.get("classification") not in Classification.values:
        errors["classification"] = ["Choose internal, confidential or restricted."]
    try:
        validate_location(values.get("provider", ""), values.get("location", ""))
    except ValidationError as exc:
        errors["provider" if exc.code == "provider" else "location"] = list(exc.messages)
    if values.get("policy") is None:
        errors["policy"] = ["Choose the approval policy."]
    if errors:
        raise DatasetInvalid("The dataset does not pass the catalog's rules.", field_errors=errors)


def create_dataset(actor: Any, **values: Any) -> Dataset:
    """A catalog admin adds a dataset. Its location must match its provider (an S3 prefix or an
    Azure storage scope), because the grant is scoped to exactly that location."""
    with _audited_refusal(actor, Action.ACCESS_DENIED, ("approvals.dataset", values.get("slug", ""), "new dataset")):
        if not permissions.can_manage_catalog(actor):
            raise NotAllowed("Only catalog admins manage datasets.")
        values.setdefault("policy", None)
        if values["policy"] is None:
            values["policy"] = default_policy()
        _validate_dataset(values, instance=None)
        return _create_audited(Dataset, actor, values, fields=DATASET_FIELDS, action=Action.DATASET_CREATED)


def update_dataset(actor: Any, dataset: Dataset, **values: Any) -> Dataset:
    """A catalog admin edits a dataset; the audit event carries every changed field before and after.
    Grants already applied keep the location they were approved for."""
    with _audited_refusal(actor, Action.ACCESS_DENIED, dataset):
        if not permissions.can_manage_catalog(actor):
            raise NotAllowed("Only catalog admins manage datasets.")
        return _update_audited(
            Dataset,
            actor,
            dataset,
            values,
            fields=DATASET_FIELDS,
            validate=_validate_dataset,
            action=Action.DATASET_UPDATED,
        )


def _validate_policy(values: dict[str, Any], *, instance: ApprovalPolicy | None) -> None:
    errors: dict[str, list[str]] = {}
    name = (values.get("name") or "").strip()
    if not name:
        errors["name"] = ["A name is required."]
    elif _others(ApprovalPolicy.objects.filter(name=name), instance).exists():
        errors["name"] = ["Another policy already has this name."]
    if values.get("approver_group") is None:
        errors["approver_group"] = ["Choose the group whose members approve."]
    if int(values.get("approvals_required") or 0) < 1:
        errors["approvals_required"] = ["At least one approval is needed."]
    if int(values.get("max_duration_hours") or 0) < 1:
        errors["max_duration_hours"] = ["At least one hour."]
    second, count = values.get("second_stage_group"), int(values.get("second_stage_approvals") or 0)
    if second is None and count:
        errors["second_stage_group"] = ["Choose the second-stage group, or set its approvals to 0."]
    if second is not None and count < 1:
        errors["second_stage_approvals"] = ["A second stage needs at least one approval."]
    if errors:
        raise DatasetInvalid("The policy does not pass the catalog's rules.", field_errors=errors)


def create_policy(actor: Any, **values: Any) -> ApprovalPolicy:
    """A catalog admin defines who decides and how many must agree."""
    with _audited_refusal(actor, Action.ACCESS_DENIED, ("approvals.approvalpolicy", "", values.get("name", ""))):
        if not permissions.can_manage_catalog(actor):
            raise NotAllowed("Only catalog admins manage approval policies.")
        values.setdefault("second_stage_approvals", 0)
        _validate_policy(values, instance=None)
        return _create_audited(
            ApprovalPolicy, actor, values, fields=POLICY_FIELDS, action=Action.APPROVAL_POLICY_CREATED
        )


def update_policy(actor: Any, policy: ApprovalPolicy, **values: Any) -> ApprovalPolicy:
    """A catalog admin edits a policy; requests already made keep the rules they were made under."""
    with _audited_refusal(actor, Action.ACCESS_DENIED, policy):
        if not permissions.can_manage_catalog(actor):
            raise NotAllowed("Only catalog admins manage approval policies.")
        return _update_audited(
            ApprovalPolicy,
            actor,
            policy,
            values,
            fields=POLICY_FIELDS,
            validate=_validate_policy,
            action=Action.APPROVAL_POLICY_UPDATED,
        )


# --- requests ------------------------------------------------------------------------------------


def _validate_request(
    actor: Any, dataset: Dataset | None, workspace: Workspace | None, justification: str, duration_hours: int | None
) -> tuple[Dataset, Workspace, int]:
    errors: dict[str, list[str]] = {}
    if dataset is None or not dataset.active:
        errors["dataset"] = ["Choose a dataset from the catalog."]
    if workspace is None or workspace.owner_id != actor.pk:
        errors["workspace"] = ["Choose one of your own workspaces."]
    elif workspace.state not in GRANTABLE_WORKSPACE_STATES or not workspace.cloud_ref:
        errors["workspace"] = ["The workspace must be running or stopped (built in the cloud) to receive a grant."]
    if dataset is not None and workspace is not None and "workspace" not in errors:
        if workspace.provider != dataset.provider:
            errors["workspace"] = ["This dataset lives in another cloud than the workspace."]
        elif CLASSIFICATION_RANK.get(workspace.data_classification, -1) < CLASSIFICATION_RANK[dataset.classification]:
            errors["workspace"] = [
                f"The workspace is classified {workspace.data_classification}; this dataset is "
                f"{dataset.classification} and needs a workspace approved for that."
            ]
    if dataset is not None:
        policy = dataset.policy
        if duration_hours is None or duration_hours < 1:
            errors["duration_hours"] = ["Ask for at least one hour."]
        elif duration_hours > policy.max_duration_hours:
            errors["duration_hours"] = [f"This dataset may be granted for at most {policy.max_duration_hours} hours."]
        if policy.justification_required and len(justification.strip()) < MIN_JUSTIFICATION:
            errors["justification"] = ["Say why you need this data (at least a sentence)."]
    if errors:
        raise RequestInvalid("The request does not fit the dataset's policy.", field_errors=errors)
    assert dataset is not None
    assert workspace is not None
    assert duration_hours is not None
    return dataset, workspace, duration_hours


def request_access(
    actor: Any, dataset: Dataset | str | None, workspace: Workspace | str | None, justification: str,
    duration_hours: int | None,
) -> AccessRequest:  # fmt: skip
    """A data scientist asks for read access to a dataset from one of their own workspaces.

    Rules: only data scientists ask; the workspace is theirs, built in the dataset's cloud and
    classified for data at least as sensitive as the dataset; the duration fits the policy and a
    justification is given where the policy asks for one; one open request per dataset and
    workspace. The policy's rules are copied onto the request so later edits do not change it.
    """
    slug = dataset.slug if isinstance(dataset, Dataset) else (dataset or "")
    justification = (justification or "").strip()
    with _audited_refusal(actor, Action.ACCESS_REQUEST_REFUSED, ("approvals.dataset", slug, slug)):
        if not permissions.can_request(actor):
            raise NotAllowed("Only data scientists request access to datasets.")
        ds = Dataset.objects.select_related("policy").filter(slug=slug).first()
        ws_id = workspace.pk if isinstance(workspace, Workspace) else workspace
        ws = Workspace.objects.filter(pk=ws_id).first() if ws_id else None
        ds, ws, hours = _validate_request(actor, ds, ws, justification, duration_hours)
        with transaction.atomic():
            Workspace.objects.select_for_update().filter(pk=ws.pk).first()  # one open request per pair, even racing
            open_states = (R.PENDING, R.APPROVED, R.ACTIVE)
            if AccessRequest.objects.filter(dataset=ds, workspace=ws, state__in=open_states).exists():
                raise AlreadyDecided("You already have an open request or grant for this dataset on this workspace.")
            policy = ds.policy
            req = AccessRequest.objects.create(
                kind=RequestKind.DATASET,
                requester=actor,
                dataset=ds,
                workspace=ws,
                policy=policy,
                justification=justification,
                duration_hours=hours,
                approver_group_id=policy.approver_group_id,
                approvals_required=policy.required_for(ds.classification),
                second_stage_group_id=policy.second_stage_group_id,
                second_stage_approvals=policy.second_stage_approvals if policy.second_stage_group_id else 0,
            )
            record(
                action=Action.ACCESS_REQUEST_CREATED,
                actor=actor,
                target=req,
                details={
                    **_describe(req),
                    "to": req.state,
                    "justification": justification,
                    "duration_hours": hours,
                    "policy": policy.name,
                    "approvals_required": req.approvals_required,
                    "second_stage_approvals": req.second_stage_approvals,
                },
            )
            notify("new_request", req, stage=1)
        return req


def create_workspace_approval(workspace: Workspace) -> AccessRequest:
    """Route a workspace whose template needs approval through the same inbox and rules
    (called by ``approvals.workspace_hooks`` inside the workspace request's transaction)."""
    policy = workspace_policy()
    req = AccessRequest.objects.create(
        kind=RequestKind.WORKSPACE,
        requester=workspace.owner,
        workspace=workspace,
        policy=policy,
        justification=f"Workspace “{workspace.name}” from template {workspace.template_version}",
        approver_group_id=policy.approver_group_id,
        approvals_required=policy.required_for(workspace.data_classification),
        second_stage_group_id=policy.second_stage_group_id,
        second_stage_approvals=policy.second_stage_approvals if policy.second_stage_group_id else 0,
    )
    record(
        action=Action.ACCESS_REQUEST_CREATED,
        actor=workspace.owner,
        target=req,
        details={
            **_describe(req),
            "to": req.state,
            "policy": policy.name,
            "approvals_required": req.approvals_required,
        },
    )
    notify("new_request", req, stage=1)
    return req


# --- decisions ---------------------------------------------------------------------------------------


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
    notify("decision", req, verdict=Verdict.DENY)


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
        notify("decision", req, verdict=Verdict.APPROVE, still_needed=still_one + still_two)
        if stage == 1 and not still_one:
            notify("new_request", req, stage=2)
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
        enqueue("apply_grant", grant.pk)
    notify("decision", req, verdict=Verdict.APPROVE, still_needed=0)


# --- the requester withdraws; approvers and admins revoke ------------------------------------------


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
        enqueue("remove_grant", grant.pk)
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
    notify("revoked", req, reason=reason)


# --- the grant's life in the cloud (called by tasks) -----------------------------------------------------


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
            enqueue("remove_grant", grant.pk)
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
        notify("granted", req)
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


# --- follow-ups run by beat ----------------------------------------------------------------------------------


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
        notify("expired", req)
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
            enqueue("apply_grant", grant_id)
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
        notify(kind, req)
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
        notify("timed_out", req)
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
        notify("expiry_warning", req)
    return 1
