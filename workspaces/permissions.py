"""Who may do what with a workspace: the one place each rule is written.

Views, the API and services all call these predicates, so the page, the endpoint
and the service cannot disagree.
"""

from __future__ import annotations

from typing import Any

from core.roles import Role, has_role
from workspaces.models import Workspace


def can_request(user: Any) -> bool:
    """Only data scientists request workspaces (approvers and auditors must stay independent of them)."""
    return has_role(user, Role.DATA_SCIENTIST)


def is_owner(user: Any, ws: Workspace) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and ws.owner_id == user.pk


def can_operate(user: Any, ws: Workspace) -> bool:
    """Open, stop, start, delete and retry: the owner alone, while they are a data scientist."""
    return is_owner(user, ws) and has_role(user, Role.DATA_SCIENTIST)


def can_view_fleet(user: Any) -> bool:
    """Catalog admins run the fleet; auditors review it. Read-only for both."""
    return has_role(user, Role.CATALOG_ADMIN, Role.AUDITOR)


def can_view(user: Any, ws: Workspace) -> bool:
    """The owner sees their workspace; fleet viewers see every workspace (read-only)."""
    return can_operate(user, ws) or can_view_fleet(user)
