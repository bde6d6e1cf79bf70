"""Writes of SCIM provisioning: connection tokens, users and groups as an IdP pushes them,
and the identity lifecycle they cause — leavers (sessions, tokens, then the apps above
through ``portal.lifecycle``), re-joiners and movers (roles from group membership at once).

Every write runs in one transaction with its audit events, named after the IdP connection
(``scim:<name>``), never after a user.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import transaction
from django.utils import timezone

from audit.actions import Action
from audit.services import record
from core.roles import ROLE_VALUES, Role, forget_roles, role_group
from portal import lifecycle
from portal.identity.claims import roles_for_groups
from portal.identity.config import provider_config
from portal.identity.services import LINK_SCIM, IdentityConflictError, link_identity
from portal.models import Identity, PersonalToken, ScimConnection, ScimGroup, ScimUser, User

TOKEN_KIND = "scim"  # noqa: S105 - the token prefix, not a secret


class ScimTokenError(Exception):
    """The bearer token is not a live SCIM connection token."""


# --- connection tokens -----------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_or_rotate_token(name: str, *, provider: str = "", issuer: str = "") -> tuple[ScimConnection, str]:
    """Create connection ``name`` (or rotate its token: the old one stops working at once) and
    return the new secret, which is shown once and stored only as a SHA-256 digest."""
    prefix = secrets.token_hex(6)
    secret = f"{TOKEN_KIND}_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        connection = ScimConnection.objects.select_for_update().filter(name=name).first()
        rotated = connection is not None
        if connection is None:
            if not provider:
                raise ValueError("A new SCIM connection needs --provider (the SSO provider id its users sign in with).")
            connection = ScimConnection(name=name, provider=provider, issuer=issuer or default_issuer(provider))
        elif provider or issuer:
            connection.provider = provider or connection.provider
            connection.issuer = issuer or connection.issuer
        connection.token_prefix, connection.token_digest = prefix, _digest(secret)
        connection.revoked_at = None
        connection.rotated_at = timezone.now() if rotated else None
        connection.save()
        record(
            action=Action.SCIM_TOKEN_CREATED,
            target=connection,
            system_actor="manage.py scim_token",
            details={"connection": name, "provider": connection.provider, "issuer": connection.issuer,
                     "rotated": rotated},
        )  # fmt: skip
    return connection, secret


def revoke_token(name: str) -> bool:
    with transaction.atomic():
        connection = ScimConnection.objects.select_for_update().filter(name=name).first()
        if connection is None or connection.revoked_at is not None:
            return False
        connection.revoked_at = timezone.now()
        connection.token_prefix, connection.token_digest = None, ""
        connection.save()
        record(
            action=Action.SCIM_TOKEN_REVOKED,
            target=connection,
            system_actor="manage.py scim_token",
            details={"connection": name},
        )
    return True


def default_issuer(provider: str) -> str:
    """The issuer of ``provider``'s identities as configured for SSO (the OIDC server URL)."""
    from portal.identity.config import social_apps

    for app in social_apps("openid_connect"):
        if str(app.get("provider_id")) == provider:
            return str((app.get("settings") or {}).get("server_url") or "").rstrip("/")
    return ""


def authenticate(secret: str) -> ScimConnection:
    parts = secret.split("_")
    if len(parts) < 3 or parts[0] != TOKEN_KIND:
        raise ScimTokenError("not a SCIM token")
    connection = ScimConnection.objects.filter(token_prefix=parts[1], revoked_at__isnull=True).first()
    if connection is None or not hmac.compare_digest(connection.token_digest, _digest(secret)):
        raise ScimTokenError("unknown or revoked SCIM token")
    now = timezone.now()
    if connection.last_used_at is None or (now - connection.last_used_at).total_seconds() > 300:
        ScimConnection.objects.filter(pk=connection.pk).update(last_used_at=now)
    return connection


# --- sessions and tokens of a leaver ----------------------------------------------------------


def end_sessions(user: Any) -> int:
    """Delete every session of ``user``. Django's database session store has no index by
    user, so live sessions are decoded (their number is bounded by the absolute session
    lifetime); ``cached_db`` caches are cleared through the store's own ``delete``."""
    store_class: Any = import_module(settings.SESSION_ENGINE).SessionStore
    get_model = getattr(store_class, "get_model_class", None)
    if get_model is None:
        raise RuntimeError(
            f"Ending a leaver's sessions needs a database-backed SESSION_ENGINE, not {settings.SESSION_ENGINE}"
        )
    model: type[AbstractBaseSession] = get_model()
    wanted = str(user.pk)
    keys = [
        s.session_key
        for s in model.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500)
        if str(s.get_decoded().get("_auth_user_id", "")) == wanted
    ]
    for key in keys:
        store_class(session_key=key).delete()
    return len(keys)


def revoke_tokens_of(user: Any, *, system_actor: str) -> int:
    tokens = list(PersonalToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True))
    now = timezone.now()
    for token in tokens:
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        record(
            action=Action.API_TOKEN_REVOKED,
            target=token,
            system_actor=system_actor,
            details={"name": token.name, "owner": user.get_username(), "reason": "deactivated by the IdP"},
        )
    return len(tokens)


# --- leavers and re-joiners --------------------------------------------------------------------


def deactivate_user(user: User, *, connection: ScimConnection, reason: str) -> bool:
    """A leaver: in one transaction the account is disabled, every session ends, every personal
    API token is revoked and the apps above (``portal.lifecycle.user_deactivated``) withdraw
    the person's pending requests, re-route approvals waiting on them and schedule their
    workspaces to stop and their grants to be removed in the cloud. Auditors test that a
    leaver loses access at once; nothing here waits for a sign-in or an expiry."""
    label = connection.actor_label
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not locked.is_active:
            return False
        locked.is_active = False
        locked.save(update_fields=["is_active"])
        forget_roles(locked)
        sessions = end_sessions(locked)
        record(
            action=Action.USER_SESSIONS_ENDED, target=locked, system_actor=label,
            details={"sessions": sessions, "reason": reason},
        )  # fmt: skip
        tokens = revoke_tokens_of(locked, system_actor=label)
        record(
            action=Action.USER_DEACTIVATED,
            target=locked,
            system_actor=label,
            details={"connection": connection.name, "reason": reason, "sessions_ended": sessions,
                     "tokens_revoked": tokens},
        )  # fmt: skip
        lifecycle.user_deactivated.send(sender=ScimConnection, user=locked, actor_label=label)
    user.is_active = False
    return True


def reactivate_user(user: User, *, connection: ScimConnection) -> bool:
    """A re-joiner may sign in again. Nothing else comes back: no token, no grant, no workspace."""
    label = connection.actor_label
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_active:
            return False
        locked.is_active = True
        locked.save(update_fields=["is_active"])
        record(
            action=Action.USER_REACTIVATED, target=locked, system_actor=label,
            details={"connection": connection.name, "restored": "sign-in only"},
        )  # fmt: skip
        lifecycle.user_reactivated.send(sender=ScimConnection, user=locked, actor_label=label)
    user.is_active = True
    return True


# --- movers: roles from SCIM groups ------------------------------------------------------------


def _held_roles(user: User) -> set[Role]:
    """Roles by group membership, whether or not the account is active (``roles_of`` says
    none for an inactive account)."""
    return {Role(n) for n in user.groups.filter(name__in=ROLE_VALUES).values_list("name", flat=True)}


def roles_from_groups(scim_user: ScimUser) -> set[Role]:
    connection = scim_user.connection
    values: list[str] = []
    for external_id, display_name in ScimGroup.objects.filter(connection=connection, members=scim_user).values_list(
        "external_id", "display_name"
    ):
        values += [v for v in (external_id, display_name) if v]
    return roles_for_groups(values, provider_config(connection.provider))


def apply_roles(scim_users: Iterable[ScimUser], *, connection: ScimConnection) -> None:
    """Recompute the roles of ``scim_users`` from their group memberships now (a mover), audit
    the change and tell the apps above what was lost and gained (``portal.lifecycle.roles_changed``)."""
    label = connection.actor_label
    for scim_user in scim_users:
        user = scim_user.user
        after = roles_from_groups(scim_user) if scim_user.deleted_at is None else set()
        before = _held_roles(user)
        if before == after:
            continue
        for role in before - after:
            user.groups.remove(role_group(role))
        for role in after - before:
            user.groups.add(role_group(role))
        forget_roles(user)
        _forget_group_cache(user)
        record(
            action=Action.USER_ROLES_CHANGED,
            target=user,
            system_actor=label,
            details={"before": sorted(r.value for r in before), "after": sorted(r.value for r in after),
                     "source": label},
        )  # fmt: skip
        if user.is_active:
            lifecycle.roles_changed.send(
                sender=ScimConnection, user=user, lost=frozenset(before - after), gained=frozenset(after - before),
                actor_label=label,
            )  # fmt: skip


def _forget_group_cache(user: Any) -> None:
    if hasattr(user, "_enclave_group_ids"):
        delattr(user, "_enclave_group_ids")


# --- users ---------------------------------------------------------------------------------------


def _unique_username(wanted: str) -> str:
    base = (wanted or "user")[:140]
    candidate = base
    while User.objects.filter(username=candidate).exists():
        candidate = f"{base}~{secrets.token_hex(3)}"
    return candidate


def user_for_external_id(connection: ScimConnection, external_id: str) -> User | None:
    """The portal user bound to the identity (connection's provider, issuer, externalId)."""
    identity = (
        Identity.objects.select_related("user")
        .filter(provider=connection.provider, issuer=connection.issuer, subject=external_id)
        .first()
    )
    return identity.user if identity is not None else None


def apply_profile(user: User, profile: dict[str, Any], *, connection: ScimConnection, external_id: str) -> None:
    fields = {
        "email": profile.get("email") or "",
        "first_name": (profile.get("first_name") or "")[:150],
        "last_name": (profile.get("last_name") or "")[:150],
        "display_name": (profile.get("display_name") or "")[:200],
    }
    if profile.get("cost_centre"):
        fields["cost_centre"] = str(profile["cost_centre"])[:64]
    if provider_config(connection.provider).is_entra:
        fields["entra_object_id"] = external_id[:64]
    changed = [name for name, value in fields.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, fields[name])
    if changed:
        user.save(update_fields=changed)


def _link(user: User, connection: ScimConnection, external_id: str) -> None:
    try:
        link_identity(
            user=user, provider=connection.provider, issuer=connection.issuer, subject=external_id,
            method=LINK_SCIM, system_actor=connection.actor_label,
        )  # fmt: skip
    except IdentityConflictError as exc:
        raise ValueError(f"externalId {external_id!r} is the identity of another account") from exc


def provision_user(
    connection: ScimConnection, *, external_id: str, user_name: str, active: bool, profile: dict[str, Any],
    resource: dict[str, Any],
) -> ScimUser:  # fmt: skip
    """Create (or, for a user this connection deleted before, restore) the SCIM record of a
    person, bound to the identity the IdP's object id names — never to an account that
    merely has the same e-mail or username."""
    label = connection.actor_label
    with transaction.atomic():
        scim_user = None
        user = None
        if external_id:
            scim_user = (
                ScimUser.objects.select_for_update().filter(connection=connection, external_id=external_id).first()
            )
            user = scim_user.user if scim_user is not None else user_for_external_id(connection, external_id)
        created_user = user is None
        if user is None:
            user = User.objects.create(username=_unique_username(user_name), is_active=active)
            user.set_unusable_password()
            user.save(update_fields=["password"])
            record(action=Action.USER_CREATED, target=user, system_actor=label, details={"via": "scim"})
        if external_id:
            _link(user, connection, external_id)
        apply_profile(user, profile, connection=connection, external_id=external_id)
        if scim_user is None:
            scim_user = ScimUser.objects.create(
                connection=connection, user=user, external_id=external_id, user_name=user_name, active=active,
                resource=resource,
            )  # fmt: skip
        else:
            scim_user.deleted_at = None
            scim_user.user_name, scim_user.active, scim_user.resource = user_name, active, resource
            scim_user.save()
        record(
            action=Action.SCIM_USER_PROVISIONED,
            target=user,
            system_actor=label,
            details={"connection": connection.name, "scim_id": str(scim_user.pk), "external_id": external_id,
                     "user_name": user_name, "active": active, "new_account": created_user},
        )  # fmt: skip
        if not created_user:
            if active and not user.is_active:
                reactivate_user(user, connection=connection)
            elif not active and user.is_active:
                deactivate_user(user, connection=connection, reason="provisioned as inactive")
    return scim_user


def update_user(
    scim_user: ScimUser, *, external_id: str, user_name: str, active: bool, profile: dict[str, Any],
    resource: dict[str, Any],
) -> ScimUser:  # fmt: skip
    """Store the IdP's new representation; ``active`` false is a leaver, back to true a re-joiner.
    An ``externalId`` is set once (then the identity is linked) and never changes."""
    connection = scim_user.connection
    with transaction.atomic():
        locked = ScimUser.objects.select_for_update().select_related("user", "connection").get(pk=scim_user.pk)
        before = {"user_name": locked.user_name, "active": locked.active}
        if external_id and not locked.external_id:
            _link(locked.user, connection, external_id)
            locked.external_id = external_id
        locked.user_name, locked.active, locked.resource = user_name, active, resource
        locked.save()
        apply_profile(locked.user, profile, connection=connection, external_id=locked.external_id)
        record(
            action=Action.SCIM_USER_UPDATED,
            target=locked.user,
            system_actor=connection.actor_label,
            details={"connection": connection.name, "scim_id": str(locked.pk), "before": before,
                     "after": {"user_name": user_name, "active": active}},
        )  # fmt: skip
        if not active and locked.user.is_active:
            deactivate_user(locked.user, connection=connection, reason="the identity provider set active=false")
        elif active and not locked.user.is_active:
            reactivate_user(locked.user, connection=connection)
    return locked


def delete_user(scim_user: ScimUser) -> None:
    """SCIM DELETE: a leaver whose resource is then gone (404) for this connection. The account
    stays, disabled and without roles, because the audit trail and past decisions name it."""
    connection = scim_user.connection
    with transaction.atomic():
        locked = ScimUser.objects.select_for_update().select_related("user", "connection").get(pk=scim_user.pk)
        if locked.deleted_at is not None:
            return
        deactivate_user(locked.user, connection=connection, reason="the identity provider deleted the user")
        locked.deleted_at = timezone.now()
        locked.active = False
        locked.save()
        locked.groups.clear()
        apply_roles([locked], connection=connection)
        record(
            action=Action.SCIM_USER_DELETED,
            target=locked.user,
            system_actor=connection.actor_label,
            details={"connection": connection.name, "scim_id": str(locked.pk), "external_id": locked.external_id},
        )


# --- groups -------------------------------------------------------------------------------------


def save_group(
    connection: ScimConnection, group: ScimGroup | None, *, display_name: str, external_id: str,
    member_ids: list[str], resource: dict[str, Any],
) -> ScimGroup:  # fmt: skip
    """Create or replace a group and its members; the roles of everyone who joined or left it
    (or of every member, when its name or id — what the role mapping reads — changed) are
    recomputed at once."""
    with transaction.atomic():
        created = group is None
        if group is None:
            group = ScimGroup(connection=connection)
            before_members: set[Any] = set()
            renamed = True
        else:
            group = ScimGroup.objects.select_for_update().get(pk=group.pk)
            before_members = set(group.members.values_list("pk", flat=True))
            renamed = (group.display_name, group.external_id) != (display_name, external_id)
        group.display_name, group.external_id, group.resource = display_name, external_id, resource
        group.save()
        members = list(ScimUser.objects.filter(connection=connection, deleted_at__isnull=True, pk__in=member_ids))
        after_members = {m.pk for m in members}
        group.members.set(members)
        touched = (before_members | after_members) if renamed else (before_members ^ after_members)
        record(
            action=Action.SCIM_GROUP_CREATED if created else Action.SCIM_GROUP_UPDATED,
            target=("portal.scimgroup", str(group.pk), display_name),
            system_actor=connection.actor_label,
            details={"connection": connection.name, "display_name": display_name, "external_id": external_id,
                     "added": sorted(str(m) for m in after_members - before_members),
                     "removed": sorted(str(m) for m in before_members - after_members)},
        )  # fmt: skip
        apply_roles(ScimUser.objects.select_related("user", "connection").filter(pk__in=touched), connection=connection)
    return group


def delete_group(group: ScimGroup) -> None:
    connection = group.connection
    with transaction.atomic():
        locked = ScimGroup.objects.select_for_update().get(pk=group.pk)
        members = list(locked.members.select_related("user", "connection"))
        name = locked.display_name
        pk = str(locked.pk)
        locked.members.clear()
        locked.delete()
        record(
            action=Action.SCIM_GROUP_DELETED,
            target=("portal.scimgroup", pk, name),
            system_actor=connection.actor_label,
            details={"connection": connection.name, "display_name": name, "members": len(members)},
        )
        apply_roles(members, connection=connection)
