"""Writes about identities and roles: bind an identity at a user's creation, link one
explicitly (administrator, SCIM, the signed-in user), unlink, record a login on it, refuse a
conflicting assertion, and re-apply roles. Each write audits in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.actions import Action, Outcome
from audit.services import record
from core.roles import Role, forget_roles, role_group, roles_of
from portal.identity.claims import claims_snapshot
from portal.models import Identity

LINK_JIT = "jit"  # created with the user at their first sign-in
LINK_ADMIN = "admin"
LINK_SCIM = "scim"
LINK_SIGNED_IN = "signed_in"  # the user signed in to this provider while signed in through a linked identity
LINK_EXISTING_ACCOUNT = "existing_account"  # a social account from before identities were recorded
LINK_SEED = "seed"


class IdentityConflictError(Exception):
    """The identity is already bound to another user."""


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


def link_identity(
    *,
    user: Any,
    provider: str,
    issuer: str,
    subject: str,
    method: str,
    actor: Any = None,
    claims: Mapping[str, Any] | None = None,
    system_actor: str = "",
) -> Identity:
    """Bind (provider, issuer, subject) to ``user`` and audit ``identity.linked``.

    The only way an identity reaches a user: a login never links on a matching email,
    username or object id, because an IdP (or a second IdP) controls those values and
    could take over someone else's account. Refuses an identity already bound elsewhere.
    """
    if not subject:
        raise ValueError("an identity needs a subject")
    with transaction.atomic():
        existing = (
            Identity.objects.select_for_update().filter(provider=provider, issuer=issuer, subject=subject).first()
        )
        if existing is not None:
            if existing.user_id != user.pk:
                raise IdentityConflictError(f"{provider}:{subject} is bound to another user")
            return existing
        try:
            with transaction.atomic():
                identity = Identity.objects.create(
                    provider=provider,
                    issuer=issuer,
                    subject=subject,
                    user=user,
                    claims=claims_snapshot(claims or {}),
                    last_login_at=timezone.now() if method in (LINK_JIT, LINK_SIGNED_IN) else None,
                )
        except IntegrityError as e:
            raise IdentityConflictError(f"{provider}:{subject} is bound to another user") from e
        record(
            action=Action.IDENTITY_LINKED,
            actor=actor,
            target=user,
            system_actor=system_actor or f"idp:{provider}",
            details={"provider": provider, "issuer": issuer, "subject": subject, "method": method},
        )
    return identity


@transaction.atomic
def unlink_identity(*, identity: Identity, actor: Any, reason: str = "") -> None:
    """Remove an identity binding (the person can no longer sign in through it) and audit it."""
    user = identity.user
    details = {"provider": identity.provider, "issuer": identity.issuer, "subject": identity.subject}
    identity.delete()
    from allauth.socialaccount.models import SocialAccount

    SocialAccount.objects.filter(user=user, provider=details["provider"], uid=details["subject"]).delete()
    record(action=Action.IDENTITY_UNLINKED, actor=actor, target=user, details={**details, "reason": reason[:300]})


def touch_identity(identity: Identity, claims: Mapping[str, Any]) -> None:
    """Record a successful login on ``identity`` with its claims snapshot."""
    identity.last_login_at = timezone.now()
    identity.claims = claims_snapshot(claims)
    identity.save(update_fields=["last_login_at", "claims"])


def record_identity_conflict(
    *, provider: str, issuer: str, subject: str, reason: str, conflicting_user: Any = None, **details: Any
) -> None:
    """Audit a refused login whose assertion collides with another provider's identity."""
    record(
        action=Action.AUTH_IDENTITY_CONFLICT,
        outcome=Outcome.DENIED,
        target=conflicting_user if conflicting_user is not None else ("portal.identity", "", f"{provider}:{subject}"),
        system_actor=f"idp:{provider}",
        details={"provider": provider, "issuer": issuer, "subject": subject, "reason": reason, **details},
    )
