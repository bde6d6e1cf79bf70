"""Who may do what with datasets, access requests and grants: the one place each rule is written.

Views, the API, services and tasks call these predicates, so the page, the endpoint and
the service cannot disagree.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from approvals.models import AccessRequest, RequestState
from core.roles import Role, has_role

_GROUPS_ATTR = "_enclave_group_ids"


def group_ids_of(user: Any) -> frozenset[int]:
    """Ids of every group the user is in (one query per user object, then cached on it)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, _GROUPS_ATTR, None)
    if cached is None:
        cached = frozenset(user.groups.values_list("id", flat=True))
        setattr(user, _GROUPS_ATTR, cached)
    return cached


def forget_groups(user: Any) -> None:
    if hasattr(user, _GROUPS_ATTR):
        delattr(user, _GROUPS_ATTR)


def fallback_group_name() -> str:
    return str(getattr(settings, "ENCLAVE_APPROVAL_FALLBACK_GROUP", "") or "")


def can_manage_catalog(user: Any) -> bool:
    """Datasets and policies are the catalog admins' (they set who decides, never decide themselves)."""
    return has_role(user, Role.CATALOG_ADMIN)


def can_view_catalog(user: Any) -> bool:
    return has_role(user, Role.CATALOG_ADMIN, Role.AUDITOR)


def can_request(user: Any) -> bool:
    """Only data scientists ask for data; they use it in their own workspaces."""
    return has_role(user, Role.DATA_SCIENTIST)


def is_requester(user: Any, req: AccessRequest) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and req.requester_id == user.pk


def decider_groups(req: AccessRequest, *, stage: int, fallback_group_id: int | None = None) -> set[int]:
    """Groups whose members may decide ``req`` at ``stage`` (the fallback group joins stage one once escalated)."""
    if stage == 2:
        return {req.second_stage_group_id} if req.second_stage_group_id else set()
    groups = {req.approver_group_id}
    if req.escalated_at is not None and fallback_group_id is not None:
        groups.add(fallback_group_id)
    return groups


def may_decide_at(user: Any, req: AccessRequest, stage: int, fallback_group_id: int | None = None) -> bool:
    """The approver role, membership of a deciding group for that stage, and never the requester
    (four-eyes principle: nobody approves their own access to production data)."""
    if is_requester(user, req) or not has_role(user, Role.APPROVER):
        return False
    return bool(group_ids_of(user) & decider_groups(req, stage=stage, fallback_group_id=fallback_group_id))


def is_overseer(user: Any, req: AccessRequest, fallback_group_id: int | None = None) -> bool:
    """Approvers of any of the request's groups see it; they may revoke its grant."""
    if is_requester(user, req) or not has_role(user, Role.APPROVER):
        return False
    groups = decider_groups(req, stage=1, fallback_group_id=fallback_group_id) | decider_groups(req, stage=2)
    return bool(group_ids_of(user) & groups)


def can_view(user: Any, req: AccessRequest, fallback_group_id: int | None = None) -> bool:
    """The requester, the request's approvers, catalog admins and auditors (read-only)."""
    return (
        is_requester(user, req)
        or is_overseer(user, req, fallback_group_id)
        or has_role(user, Role.CATALOG_ADMIN, Role.AUDITOR)
    )


def can_withdraw(user: Any, req: AccessRequest) -> bool:
    """The requester withdraws a pending request, or gives back a grant early."""
    return is_requester(user, req) and req.state in (RequestState.PENDING, RequestState.APPROVED, RequestState.ACTIVE)


def can_revoke(user: Any, req: AccessRequest, fallback_group_id: int | None = None) -> bool:
    """An approver of the request or a catalog admin ends a grant early (never for their own request)."""
    if is_requester(user, req):
        return False
    return is_overseer(user, req, fallback_group_id) or has_role(user, Role.CATALOG_ADMIN)


# --- access reviews and the access report --------------------------------------------------------------


def can_manage_reviews(user: Any) -> bool:
    """Catalog admins define review campaigns (they set who reviews, as they set who approves)."""
    return has_role(user, Role.CATALOG_ADMIN)


def can_view_reviews(user: Any) -> bool:
    """Campaign reports are for catalog admins and auditors."""
    return has_role(user, Role.CATALOG_ADMIN, Role.AUDITOR)


def may_review(user: Any, *, holder_id: Any, reviewer_id: Any, fallback_group_id: int | None, escalated: bool) -> bool:
    """The item's reviewer (the dataset's steward) or, when the dataset has no other steward or the
    round was escalated, a member of the fallback group — holding the approver role, and never for
    their own access (nobody re-certifies themselves)."""
    if not getattr(user, "is_authenticated", False) or user.pk == holder_id or not has_role(user, Role.APPROVER):
        return False
    if reviewer_id is not None and user.pk == reviewer_id:
        return True
    in_fallback = fallback_group_id is not None and fallback_group_id in group_ids_of(user)
    return in_fallback and (reviewer_id is None or escalated)


def can_read_access_report(user: Any, dataset: Any = None) -> bool:
    """Auditors and catalog admins read the report for any dataset or user; a dataset's steward for
    that dataset only."""
    if has_role(user, Role.AUDITOR, Role.CATALOG_ADMIN):
        return True
    return dataset is not None and getattr(user, "is_authenticated", False) and dataset.steward_id == user.pk
