"""Writes of production-data access: the dataset catalog and its policies, access requests,
decisions, grants applied and removed, and the follow-ups beat runs (reminders,
escalations, time-outs, expiry warnings, expiry).

Every state change happens here, under a row lock on the request, together with its audit
event in one transaction; cloud work and e-mail are scheduled with ``transaction.on_commit``
and done by ``approvals.tasks``. Refusals change nothing and are audited in their own
transaction so they survive the caller's error.
"""

from __future__ import annotations

from approvals.services.common import (
    CLASSIFICATION_RANK,
    DATASET_FIELDS,
    DEFAULT_POLICY_NAME,
    GRANTABLE_WORKSPACE_STATES,
    MIN_JUSTIFICATION,
    POLICY_FIELDS,
    WORKSPACE_POLICY_NAME,
    CatalogRow,
    default_policy,
    workspace_policy,
)
from approvals.services.datasets import create_dataset, create_policy, update_dataset, update_policy
from approvals.services.decisions import approve_request, current_stage, decide, deny_request
from approvals.services.dispatch import enqueue, notify, send_task
from approvals.services.follow_ups import expire_due, expire_grant, follow_up, retry_failed_grants
from approvals.services.grants import (
    grant_to_apply,
    grant_to_remove,
    record_apply_failed,
    record_grant_applied,
    record_grant_removed,
    record_remove_failed,
)
from approvals.services.requests import create_workspace_approval, request_access
from approvals.services.withdrawals import close_workspace_approval, revoke_grant, withdraw_request

__all__ = [
    "CLASSIFICATION_RANK",
    "DATASET_FIELDS",
    "DEFAULT_POLICY_NAME",
    "GRANTABLE_WORKSPACE_STATES",
    "MIN_JUSTIFICATION",
    "POLICY_FIELDS",
    "WORKSPACE_POLICY_NAME",
    "CatalogRow",
    "approve_request",
    "close_workspace_approval",
    "create_dataset",
    "create_policy",
    "create_workspace_approval",
    "current_stage",
    "decide",
    "default_policy",
    "deny_request",
    "enqueue",
    "expire_due",
    "expire_grant",
    "follow_up",
    "grant_to_apply",
    "grant_to_remove",
    "notify",
    "record_apply_failed",
    "record_grant_applied",
    "record_grant_removed",
    "record_remove_failed",
    "request_access",
    "retry_failed_grants",
    "revoke_grant",
    "send_task",
    "update_dataset",
    "update_policy",
    "withdraw_request",
    "workspace_policy",
]
