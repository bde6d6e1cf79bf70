"""Opening access requests (a scientist's, or a workspace awaiting approval)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from approvals import permissions
from approvals.exceptions import (
    AlreadyDecided,
    NotAllowed,
    RequestInvalid,
)
from approvals.models import (
    AccessRequest,
    Dataset,
    RequestKind,
)
from approvals.services import dispatch
from approvals.services.common import (
    CLASSIFICATION_RANK,
    GRANTABLE_WORKSPACE_STATES,
    MIN_JUSTIFICATION,
    R,
    _audited_refusal,
    _describe,
    workspace_policy,
)
from audit.actions import Action
from audit.services import record
from workspaces.models import Workspace


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
            dispatch.notify("new_request", req, stage=1)
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
    dispatch.notify("new_request", req, stage=1)
    return req
