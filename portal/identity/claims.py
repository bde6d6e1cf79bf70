"""Reading what an IdP asserted: the claims of a login, the groups at a (nested) claim path,
groups mapped to roles by id or name, Entra's groups overage, and the MFA claims."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

from core.roles import Role
from portal.identity.config import ProviderConfig

# Entra ID's SAML attribute names for the claims Enclave reads from OIDC.
SAML_CLAIM_URIS = {
    "oid": "http://schemas.microsoft.com/identity/claims/objectidentifier",
    "name": "http://schemas.microsoft.com/identity/claims/displayname",
    "email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "preferred_username": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
}
# Never kept in the identity's claims snapshot.
SECRET_CLAIMS = frozenset({"nonce", "at_hash", "c_hash", "s_hash", "access_token", "id_token", "refresh_token"})
# Entra's markers for "too many groups to list" (ID token: _claim_names/_claim_sources; implicit: hasgroups).
OVERAGE_SAML_URI = "http://schemas.microsoft.com/claims/groups.link"


def idp_claims(extra_data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(ID-token claims, all claims) from a social account's ``extra_data``.

    OIDC stores ``{"id_token": {...}, "userinfo": {...}}`` (userinfo wins on overlap);
    SAML stores the assertion's attributes as lists, which are flattened to one value
    except for the group attribute (global or provider ``saml``'s) and multi-valued ones.
    """
    if "id_token" in extra_data or "userinfo" in extra_data:
        id_token = dict(extra_data.get("id_token") or {})
        return id_token, {**id_token, **dict(extra_data.get("userinfo") or {})}
    group_claims = {
        settings.ENCLAVE_ROLE_GROUP_CLAIM,
        str((getattr(settings, "ENCLAVE_SSO_PROVIDERS", {}).get("saml") or {}).get("groups_claim") or ""),
    }
    flat = {
        k: (v if k in group_claims or not isinstance(v, list) or len(v) > 1 else (v[0] if v else ""))
        for k, v in extra_data.items()
    }
    for claim, uri in SAML_CLAIM_URIS.items():
        if uri in flat:
            flat.setdefault(claim, flat[uri])
    return {}, flat


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` (``realm_access.roles``); a key holding the whole path
    (a SAML attribute URI, a claim named with dots) wins over descending."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def groups_from(claims: Mapping[str, Any], config: ProviderConfig | None = None) -> list[str]:
    """The IdP's group values (ids or names) at the provider's groups claim.

    A value may be a list, one string, or a list of objects such as ``{"id": ..., "name": ...}``
    or SCIM-style ``{"value": ..., "display": ...}``; every id and name found is returned.
    """
    path = config.groups_claim if config is not None else settings.ENCLAVE_ROLE_GROUP_CLAIM
    value = claim_at(claims, path) or []
    if isinstance(value, str | int):
        value = [value]
    out: list[str] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, Mapping):
            out.extend(str(item[k]) for k in ("id", "value", "name", "display", "displayName") if item.get(k))
        elif item not in (None, ""):
            out.append(str(item))
    return list(dict.fromkeys(out))


def roles_for_groups(groups: Iterable[str], config: ProviderConfig | None = None) -> set[Role]:
    """Map group values to roles through the provider's mapping (ids and names alike, names
    compared without case); unknown groups grant nothing."""
    mapping: dict[str, str] = config.role_mapping if config is not None else settings.ENCLAVE_ROLE_MAPPING
    folded = {str(k).casefold(): v for k, v in mapping.items()}
    roles = set()
    for group in groups:
        role = mapping.get(group) or folded.get(group.casefold())
        if role in Role.values:
            roles.add(Role(role))
    return roles


def groups_overage(claims: Mapping[str, Any], config: ProviderConfig | None = None) -> str:
    """Why the token does not list all of the user's groups ("" when it does): Entra replaces
    the list with ``_claim_names``/``_claim_sources`` (``groups:src1``) or ``hasgroups``."""
    path = config.groups_claim if config is not None else "groups"
    names = claims.get("_claim_names")
    if isinstance(names, Mapping) and (path in names or "groups" in names):
        return "_claim_names"
    if str(claims.get("hasgroups", "")).lower() == "true":
        return "hasgroups"
    if any(str(k).startswith("groups:src") for k in claims) or OVERAGE_SAML_URI in claims:
        return "groups:src"
    return ""


def idp_asserted_mfa(id_token: Mapping[str, Any], config: ProviderConfig | None = None) -> bool:
    """Whether this login's ID token says MFA happened at the IdP: an ``amr`` value the
    provider trusts, or a trusted ``acr``. An empty trust list trusts nothing."""
    if config is None:
        trusted_amr = {str(v).lower() for v in settings.ENCLAVE_MFA_TRUST_IDP_AMR}
        trusted_acr = {str(v).lower() for v in settings.ENCLAVE_MFA_TRUST_IDP_ACR}
    else:
        trusted_amr, trusted_acr = set(config.mfa_amr), set(config.mfa_acr)
    amr = id_token.get("amr") or []
    asserted_amr = {str(v).lower() for v in (amr if isinstance(amr, list) else [amr])}
    acr = str(id_token.get("acr") or "").lower()
    return bool(trusted_amr & asserted_amr) or bool(acr and acr in trusted_acr)


def claims_snapshot(claims: Mapping[str, Any]) -> dict[str, Any]:
    """What an identity keeps of a login's claims: everything but nonces, hashes and tokens."""
    return {k: v for k, v in claims.items() if k not in SECRET_CLAIMS}
