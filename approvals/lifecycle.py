"""Receivers of ``portal.lifecycle`` for data access: a leaver's requests are withdrawn, grants
revoked and approvals waiting on them re-routed (``approvals.services.lifecycle``); an approver
who loses the role has their pending inbox items re-routed. Reactivation restores no grant."""

from __future__ import annotations

from typing import Any

from approvals import permissions
from approvals.services import lifecycle as services
from core.roles import Role, role_group
from portal import lifecycle


def _group_ids(user: Any) -> set[int]:
    permissions.forget_groups(user)
    return set(user.groups.values_list("id", flat=True))


def _on_deactivated(sender: Any, user: Any, actor_label: str, **_: Any) -> None:
    reason = "the requester left (deactivated by the identity provider)"
    services.withdraw_requests_of(user, system_actor=actor_label, reason=reason)
    services.revoke_grants_of(user, system_actor=actor_label, reason=reason)
    services.reroute_from(
        user, prior_group_ids=_group_ids(user), system_actor=actor_label,
        reason="the approver left (deactivated by the identity provider)",
    )  # fmt: skip


def _on_roles_changed(sender: Any, user: Any, lost: frozenset[Role], actor_label: str, **_: Any) -> None:
    if Role.APPROVER not in lost:
        return
    prior = _group_ids(user) | {role_group(Role.APPROVER).pk}
    services.reroute_from(user, prior_group_ids=prior, system_actor=actor_label, reason="the approver lost the role")


def connect() -> None:
    lifecycle.user_deactivated.connect(_on_deactivated, dispatch_uid="approvals.lifecycle.deactivated")
    lifecycle.roles_changed.connect(_on_roles_changed, dispatch_uid="approvals.lifecycle.roles_changed")
