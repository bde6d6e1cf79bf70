"""Reads about identities: the identity an IdP asserted, a user's identities, the Entra
object id Azure assigns compute to."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from portal.identity.config import ENTRA_OBJECT_ID_CLAIM, provider_config
from portal.models import Identity


def identity_for(*, provider: str, issuer: str, subject: str) -> Identity | None:
    return Identity.objects.select_related("user").filter(provider=provider, issuer=issuer, subject=subject).first()


def identities_of(user: Any) -> QuerySet[Identity]:
    return Identity.objects.filter(user_id=user.pk).order_by("provider", "subject")


def entra_object_id_for(user: Any) -> str:
    """The Entra object id of ``user``: from their identity at the provider named by
    ``ENCLAVE_ENTRA_PROVIDER`` (its subject when the subject claim is ``oid``, else the ``oid``
    claim it asserted), or the one SCIM/an administrator recorded on the user. Never from
    whichever other IdP the user signed in with last."""
    provider = settings.ENCLAVE_ENTRA_PROVIDER
    if provider:
        identity = identities_of(user).filter(provider=provider).order_by("-last_login_at").first()
        if identity is not None:
            if provider_config(provider).subject_claim == ENTRA_OBJECT_ID_CLAIM:
                return identity.subject
            oid = str((identity.claims or {}).get(ENTRA_OBJECT_ID_CLAIM) or "")
            if oid:
                return oid
    return str(getattr(user, "entra_object_id", "") or "")
