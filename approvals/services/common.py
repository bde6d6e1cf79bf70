"""What every approvals write shares: policies by default, row locks, audited transitions and refusals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from django.contrib.auth.models import Group
from django.db.models import Model
from django.utils import timezone

from approvals import permissions
from approvals.models import (
    AccessRequest,
    ApprovalPolicy,
    Dataset,
    GrantStatus,
    RequestState,
)
from audit.actions import Action, Outcome
from audit.services import Target, record, record_denied
from catalog.models import Classification
from core.errors import DomainError
from core.roles import Role, role_group
from workspaces.models import WorkspaceState

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
