"""Template context every page needs: the user's roles for navigation."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from core.roles import Role, roles_of
from portal import notifications

# (label, url name, roles that see it)
NAV: list[tuple[str, str, tuple[Role, ...]]] = [
    ("Catalog", "catalog:catalog", (Role.DATA_SCIENTIST, Role.CATALOG_ADMIN, Role.AUDITOR)),
    ("My workspaces", "workspaces:my_workspaces", (Role.DATA_SCIENTIST,)),
    ("Data access", "approvals:my_requests", (Role.DATA_SCIENTIST,)),
    ("Approvals inbox", "approvals:inbox", (Role.APPROVER,)),
    ("Access reviews", "approvals:review_inbox", (Role.APPROVER,)),
    ("Manage catalog", "catalog:admin_templates", (Role.CATALOG_ADMIN,)),
    ("Datasets", "approvals:datasets", (Role.CATALOG_ADMIN, Role.AUDITOR)),
    ("Review campaigns", "approvals:reviews", (Role.CATALOG_ADMIN, Role.AUDITOR)),
    ("Access report", "approvals:access_report", (Role.CATALOG_ADMIN, Role.AUDITOR)),
    ("Fleet", "workspaces:fleet", (Role.CATALOG_ADMIN, Role.AUDITOR)),
    ("Audit trail", "audit:events", (Role.AUDITOR, Role.CATALOG_ADMIN)),
    ("Profile", "profile", tuple(Role)),
]


def _nav_items(roles: frozenset[Role]) -> list[dict[str, str]]:
    return [{"label": label, "url": reverse(name)} for label, name, allowed in NAV if roles.intersection(allowed)]


def enclave(request: HttpRequest) -> dict[str, Any]:
    roles = roles_of(getattr(request, "user", None))
    return {
        "user_roles": roles,
        "is_scientist": Role.DATA_SCIENTIST in roles,
        "is_approver": Role.APPROVER in roles,
        "is_catalog_admin": Role.CATALOG_ADMIN in roles,
        "is_auditor": Role.AUDITOR in roles,
        "local_login_enabled": settings.ENCLAVE_LOCAL_LOGIN,
        "enclave_env": settings.ENCLAVE_ENV,
        "nav_items": _nav_items(roles),
        "unread_notifications": notifications.unread_count(getattr(request, "user", None)),
        "demo_mailbox_url": "" if settings.ENCLAVE_ENV == "production" else settings.ENCLAVE_DEMO_MAILBOX_URL,
    }
