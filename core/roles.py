"""The four roles and how a user holds them.

A role is a Django group with the role's value as its name. Roles are assigned
from IdP groups at every SSO login (``portal.identity``), so the IdP stays the
source of truth; the cached lookup keeps a page at a constant query count.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, Group
from django.db import models


class Role(models.TextChoices):
    DATA_SCIENTIST = "data_scientist", "Data scientist"
    APPROVER = "approver", "Approver"
    CATALOG_ADMIN = "catalog_admin", "Catalog admin"
    AUDITOR = "auditor", "Auditor"


ROLE_VALUES = frozenset(r.value for r in Role)
_CACHE_ATTR = "_enclave_roles"


def roles_of(user: Any) -> frozenset[Role]:
    """The roles ``user`` holds now (one query per user object, then cached on it)."""
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        names = user.groups.filter(name__in=ROLE_VALUES).values_list("name", flat=True)
        cached = frozenset(Role(n) for n in names)
        setattr(user, _CACHE_ATTR, cached)
    return cached


def has_role(user: Any, *roles: Role) -> bool:
    held = roles_of(user)
    return any(r in held for r in roles)


def forget_roles(user: Any) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def role_group(role: Role) -> Group:
    group, _ = Group.objects.get_or_create(name=role.value)
    return group
