"""Identity: allauth adapters that create users just in time from SSO and re-apply
roles from the IdP's groups at every login."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from audit.actions import Action
from audit.services import record
from portal.roles import Role, forget_roles, role_group, roles_of


def roles_for_groups(groups: Iterable[str]) -> set[Role]:
    """Map IdP group names to roles through ``ENCLAVE_ROLE_MAPPING``; unknown groups grant nothing."""
    mapping: dict[str, str] = settings.ENCLAVE_ROLE_MAPPING
    return {Role(mapping[g]) for g in groups if g in mapping and mapping[g] in Role.values}


@transaction.atomic
def sync_roles(user: Any, roles: set[Role], *, source: str, actor: Any = None) -> bool:
    """Make ``user``'s roles exactly ``roles``; audit the change with before/after."""
    before = set(roles_of(user))
    if before == roles:
        return False
    for role in before - roles:
        user.groups.remove(role_group(role))
    for role in roles - before:
        user.groups.add(role_group(role))
    forget_roles(user)
    record(
        action=Action.USER_ROLES_CHANGED,
        actor=actor,
        target=user,
        system_actor=f"idp:{source}",
        details={"before": sorted(r.value for r in before), "after": sorted(r.value for r in roles), "source": source},
    )
    return True


class AccountAdapter(DefaultAccountAdapter):
    """No self-service sign-up: accounts come from SSO (or the demo seed)."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Just-in-time users from the IdP."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return True
