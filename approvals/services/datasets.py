"""The dataset catalog and its approval policies, edited by catalog admins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet

from approvals import permissions
from approvals.exceptions import (
    DatasetInvalid,
    NotAllowed,
)
from approvals.models import (
    ApprovalPolicy,
    Dataset,
    validate_location,
)
from approvals.services.common import (
    DATASET_FIELDS,
    POLICY_FIELDS,
    CatalogRow,
    _audited_refusal,
    _snapshot,
    default_policy,
)
from audit.actions import Action
from audit.diffing import changes
from audit.services import record
from catalog.models import Classification


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
