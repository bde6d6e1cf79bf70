"""Per-provider SSO configuration: which claim is the stable subject, which scopes to ask
for, where the groups are and how their values map to roles, which MFA claims to trust.

Settings build ``ENCLAVE_SSO_PROVIDERS`` from ``ENCLAVE_OIDC_<ID>_*`` variables (see
docs/sso.md); a provider without an entry gets the global defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

OVERAGE_REFUSE = "refuse"
ENTRA_OBJECT_ID_CLAIM = "oid"


@dataclass(frozen=True)
class ProviderConfig:
    provider: str
    subject_claim: str
    groups_claim: str  # a dotted path: "groups", "realm_access.roles"
    role_mapping: dict[str, str]  # group id or name -> role
    mfa_amr: frozenset[str]
    mfa_acr: frozenset[str]
    groups_overage: str

    @property
    def is_entra(self) -> bool:
        """Whether this provider's identities carry the Entra object id Azure needs."""
        return bool(settings.ENCLAVE_ENTRA_PROVIDER) and self.provider == settings.ENCLAVE_ENTRA_PROVIDER


def provider_config(provider: str) -> ProviderConfig:
    """The configuration of ``provider`` (a SocialAccount provider id), defaults filled in."""
    own: dict[str, Any] = dict(getattr(settings, "ENCLAVE_SSO_PROVIDERS", {}).get(provider) or {})
    return ProviderConfig(
        provider=provider,
        subject_claim=str(own.get("subject_claim") or "sub"),
        groups_claim=str(own.get("groups_claim") or settings.ENCLAVE_ROLE_GROUP_CLAIM),
        role_mapping=dict(own.get("role_mapping") or settings.ENCLAVE_ROLE_MAPPING),
        mfa_amr=frozenset(str(v).lower() for v in own.get("mfa_amr", settings.ENCLAVE_MFA_TRUST_IDP_AMR)),
        mfa_acr=frozenset(str(v).lower() for v in own.get("mfa_acr", settings.ENCLAVE_MFA_TRUST_IDP_ACR)),
        groups_overage=str(own.get("groups_overage") or OVERAGE_REFUSE),
    )


def social_apps(kind: str) -> list[dict[str, Any]]:
    """allauth's configured apps of ``kind`` (``openid_connect`` or ``saml``)."""
    providers: dict[str, Any] = settings.SOCIALACCOUNT_PROVIDERS
    return list((providers.get(kind) or {}).get("APPS") or [])


def configured_providers() -> list[str]:
    """Ids of the OIDC providers configured in allauth (SAML apps share the id ``saml``)."""
    return [str(app["provider_id"]) for app in social_apps("openid_connect")] + (
        ["saml"] if social_apps("saml") else []
    )
