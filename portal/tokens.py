"""Issuing, checking and revoking personal API tokens.

The secret is ``enc_<prefix>_<random>``; only its SHA-256 is stored, so a leaked
database does not leak usable tokens. Checks compare digests in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed

from audit.actions import Action
from audit.services import record
from portal.models import PersonalToken, User

MAX_LIFETIME_DAYS = 90
_PREFIX = re.compile(r"[0-9a-f]{12}")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(actor: User, *, name: str, days: int, mfa_at_issue: str = "") -> tuple[PersonalToken, str]:
    """Create a token for ``actor`` itself; returns the row and the secret (shown once).

    ``mfa_at_issue`` says how the issuing session passed MFA ("totp", "idp" or "" for not at all);
    see ``portal.mfa.token_satisfies_mfa`` for why it matters."""
    if not 1 <= days <= MAX_LIFETIME_DAYS:
        raise ValueError(f"A token lives between 1 and {MAX_LIFETIME_DAYS} days.")
    name = name.strip()
    if not name:
        raise ValueError("Give the token a name so you can recognise it later.")
    prefix = secrets.token_hex(6)
    secret = f"enc_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = PersonalToken.objects.create(
            user=actor, name=name[:100], prefix=prefix, digest=_digest(secret),
            expires_at=timezone.now() + timedelta(days=days), mfa_at_issue=mfa_at_issue,
        )  # fmt: skip
        record(
            action=Action.API_TOKEN_CREATED,
            actor=actor,
            target=token,
            details={
                "name": token.name,
                "expires_at": token.expires_at.isoformat(),
                "mfa_at_issue": token.mfa_at_issue or "none",
            },
        )
    return token, secret


def revoke_token(actor: User, token: PersonalToken) -> None:
    if token.user_id != actor.pk:
        raise PermissionError("You can only revoke your own tokens.")
    with transaction.atomic():
        locked = PersonalToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            record(action=Action.API_TOKEN_REVOKED, actor=actor, target=locked, details={"name": locked.name})


def authenticate_token(secret: str) -> tuple[Any, PersonalToken]:
    """The token's user and row; ``AuthenticationFailed`` for a forged, revoked or expired one."""
    parts = secret.split("_")
    if len(parts) < 3 or parts[0] != "enc" or not _PREFIX.fullmatch(parts[1]):
        raise AuthenticationFailed("Invalid token.")
    token = PersonalToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.digest, _digest(secret)):
        raise AuthenticationFailed("Invalid token.")
    now = timezone.now()
    if token.revoked_at is not None or token.expires_at <= now or not token.user.is_active:
        raise AuthenticationFailed("Token expired or revoked.")
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token
