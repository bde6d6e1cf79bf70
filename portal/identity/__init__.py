"""Identity: who signed in, through which identity provider, with which roles.

``adapters`` (allauth), ``oidc`` (discovery, JWKS, nonce), ``claims`` (reading assertions),
``config`` (per-provider settings), ``services``/``selectors`` (identities and roles),
``csp`` (form-action for the IdPs). The names below are the package's public face.
"""

from portal.identity.adapters import (
    IDP_MFA_SESSION_KEY,
    LOCAL_POLICY_BREAK_GLASS,
    LOCAL_POLICY_DEMO,
    AccountAdapter,
    NonceMismatchError,
    SocialAccountAdapter,
    local_login_refusal,
    recently_authenticated,
)
from portal.identity.claims import groups_from, idp_asserted_mfa, idp_claims, roles_for_groups
from portal.identity.oidc import EnclaveOIDCProvider
from portal.identity.services import sync_roles

__all__ = [
    "IDP_MFA_SESSION_KEY",
    "LOCAL_POLICY_BREAK_GLASS",
    "LOCAL_POLICY_DEMO",
    "AccountAdapter",
    "EnclaveOIDCProvider",
    "NonceMismatchError",
    "SocialAccountAdapter",
    "groups_from",
    "idp_asserted_mfa",
    "idp_claims",
    "local_login_refusal",
    "recently_authenticated",
    "roles_for_groups",
    "sync_roles",
]
