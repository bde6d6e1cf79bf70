"""Identity: allauth adapters that create users just in time from SSO, re-apply roles
from the IdP's groups at every login, check the OIDC ``nonce``, and keep local password
login to the demo and to break-glass administrators with MFA.

Every outcome lands in the audit trail: ``user.created``, ``user.roles_changed``,
``auth.no_access``, ``auth.sso_failed`` (state, nonce, token or provider errors),
``auth.login_failed`` for refused local logins; ``auth.login`` is recorded by
``portal.signals``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import render

from audit.actions import Action, Outcome
from audit.services import record
from core.roles import Role, forget_roles, role_group, roles_of

LOCAL_POLICY_DEMO = "demo"
LOCAL_POLICY_BREAK_GLASS = "break-glass"
IDP_MFA_SESSION_KEY = "_enclave_idp_mfa"  # the IdP asserted MFA (amr/acr) for this session's login
# Entra ID's SAML attribute names for the claims Enclave reads from OIDC.
SAML_CLAIM_URIS = {
    "oid": "http://schemas.microsoft.com/identity/claims/objectidentifier",
    "name": "http://schemas.microsoft.com/identity/claims/displayname",
    "email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "preferred_username": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
}


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


# --- Reading what the IdP said ------------------------------------------------------------


def idp_claims(extra_data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(ID-token claims, all claims) from a social account's ``extra_data``.

    OIDC stores ``{"id_token": {...}, "userinfo": {...}}`` (userinfo wins on overlap);
    SAML stores the assertion's attributes as lists, which are flattened to one value
    except for the group attribute.
    """
    if "id_token" in extra_data or "userinfo" in extra_data:
        id_token = dict(extra_data.get("id_token") or {})
        return id_token, {**id_token, **dict(extra_data.get("userinfo") or {})}
    group_claim = settings.ENCLAVE_ROLE_GROUP_CLAIM
    flat = {
        k: (v if k == group_claim or not isinstance(v, list) else (v[0] if v else "")) for k, v in extra_data.items()
    }
    for claim, uri in SAML_CLAIM_URIS.items():
        if uri in flat:
            flat.setdefault(claim, flat[uri])
    return {}, flat


def groups_from(claims: Mapping[str, Any]) -> list[str]:
    """The IdP groups in the configured claim (a list, or one string)."""
    value = claims.get(settings.ENCLAVE_ROLE_GROUP_CLAIM) or []
    if isinstance(value, str):
        value = [value]
    return [str(g) for g in value]


def idp_asserted_mfa(id_token: Mapping[str, Any]) -> bool:
    """Whether this login's ID token says MFA happened at the IdP (``amr`` or ``acr``
    containing one of ``ENCLAVE_MFA_TRUST_IDP_AMR``); an empty setting trusts nothing."""
    trusted = {str(v).lower() for v in settings.ENCLAVE_MFA_TRUST_IDP_AMR}
    amr = id_token.get("amr") or []
    asserted = {str(v).lower() for v in (amr if isinstance(amr, list) else [amr])}
    acr = str(id_token.get("acr") or "").lower()
    if acr:
        asserted.add(acr)
    return bool(trusted & asserted)


# --- OIDC provider with a nonce ----------------------------------------------------------------


class NonceMismatchError(Exception):
    """The ID token's ``nonce`` is not the one this browser's login sent (replay/injection)."""


class EnclaveOIDCProvider(OpenIDConnectProvider):
    """allauth's OpenID Connect provider, plus the ``nonce`` it does not send by itself.

    A fresh nonce goes into the authorization request and into the login state stashed
    in the session; :meth:`SocialAccountAdapter.pre_social_login` compares it with the
    ID token's claim.
    """

    def get_redirect_from_request_kwargs(self, request: HttpRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_redirect_from_request_kwargs(request)
        nonce = secrets.token_urlsafe(24)
        kwargs["auth_params"] = {**kwargs.get("auth_params", {}), "nonce": nonce}
        kwargs["nonce"] = nonce  # stashed with the state, server-side
        return kwargs


# --- Local (password) login ------------------------------------------------------------------


def local_login_refusal(user: Any | None) -> str | None:
    """Why a local password login must be refused, or None when it is allowed.

    Off unless ``ENCLAVE_LOCAL_LOGIN``; with ``ENCLAVE_LOCAL_LOGIN_POLICY=break-glass``
    (the only policy production accepts) only users flagged ``break_glass`` who have
    TOTP set up may use it — and allauth then asks for their code before signing in.
    """
    if not settings.ENCLAVE_LOCAL_LOGIN:
        return "Local sign-in is turned off. Use single sign-on."
    if settings.ENCLAVE_LOCAL_LOGIN_POLICY == LOCAL_POLICY_BREAK_GLASS and user is not None:
        from allauth.mfa.models import Authenticator

        has_totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        if not (getattr(user, "break_glass", False) and has_totp):
            return "Local sign-in is reserved for break-glass administrators with MFA. Use single sign-on."
    return None


def recently_authenticated(request: HttpRequest | None) -> bool:
    """Whether this session's user signed in (or re-authenticated) within allauth's
    re-authentication window (``ACCOUNT_REAUTHENTICATION_TIMEOUT``)."""
    from allauth.account import app_settings as account_settings
    from allauth.account.internal.flows.login import get_authentication_records

    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return False
    records = get_authentication_records(request, user)
    return bool(records) and time.time() - float(records[-1].get("at", 0)) < account_settings.REAUTHENTICATION_TIMEOUT


class AccountAdapter(DefaultAccountAdapter):
    """No self-service sign-up: accounts come from SSO (or the demo seed); local password
    login is refused server-side unless the policy allows it."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """A sign-in minutes ago is as fresh as a re-authentication: SSO users have no
        password to re-enter, and must be able to set up TOTP right after signing in."""
        from allauth.core import context

        if recently_authenticated(context.request):
            return False
        return bool(super().is_reauthentication_required(app=app, **kwargs))

    def _refuse(self, username: str, reason: str) -> None:
        record(
            action=Action.AUTH_LOGIN_FAILED,
            outcome=Outcome.DENIED,
            target=("portal.user", "", username),
            system_actor="anonymous",
            details={"attempted_username": username, "reason": reason, "method": "password"},
        )
        raise ValidationError(reason, code="local_login_refused")

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        reason = local_login_refusal(None)
        if reason:
            self._refuse(str(credentials.get("username") or "")[:150], reason)
        super().pre_authenticate(request, **credentials)

    def authenticate(self, request: HttpRequest, **credentials: Any) -> Any:
        user = super().authenticate(request, **credentials)
        if user is not None:
            reason = local_login_refusal(user)
            if reason:
                self._refuse(user.get_username(), reason)
        return user


# --- SSO -----------------------------------------------------------------------------------


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Just-in-time users from the IdP, roles re-applied from its groups at every login."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return True

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: Any) -> bool:
        return True

    def get_provider(self, request: HttpRequest, provider: Any, client_id: Any = None) -> Any:
        instance = super().get_provider(request, provider, client_id=client_id)
        if type(instance) is OpenIDConnectProvider:
            instance = EnclaveOIDCProvider(request, app=instance.app)
        return instance

    # -- failures
    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: Any = None,
        exception: Any = None,
        extra_context: Any = None,
    ) -> None:
        """Every failed SSO attempt is audited: a missing/forged ``state``, a wrong
        ``nonce``, a refused code exchange, an invalid ID token or an IdP error."""
        extra = extra_context or {}
        if exception is not None:
            reason = str(exception) or type(exception).__name__
        elif "state_id" in extra:
            reason = "state parameter missing, unknown or expired"
        else:
            reason = f"identity provider returned an error: {request.GET.get('error', error or 'unknown')}"
        record(
            action=Action.AUTH_SSO_FAILED,
            outcome=Outcome.DENIED,
            target=None,
            system_actor="anonymous",
            details={
                "provider": getattr(getattr(provider, "app", None), "provider_id", "") or getattr(provider, "id", ""),
                "error": str(error or ""),
                "exception": type(exception).__name__ if exception is not None else "",
                "reason": reason[:300],
            },
        )

    # -- the login itself
    def pre_social_login(self, request: HttpRequest, sociallogin: Any) -> None:
        """Check the nonce, then refuse users without a mapped group, link a pre-provisioned
        user by the IdP's immutable ``oid``, and refresh an existing user's profile and roles."""
        extra_data = sociallogin.account.extra_data or {}
        id_token, claims = idp_claims(extra_data)
        provider = sociallogin.account.get_provider(request)
        if isinstance(provider, OpenIDConnectProvider):
            expected = (sociallogin.state or {}).get("nonce")
            if not expected or not secrets.compare_digest(str(id_token.get("nonce", "")), str(expected)):
                exc = NonceMismatchError("ID token nonce does not match this login's nonce")
                raise ImmediateHttpResponse(render_authentication_error(request, provider, exception=exc))

        groups = groups_from(claims)
        roles = roles_for_groups(groups)
        source = sociallogin.account.provider
        if not sociallogin.is_existing:
            self._link_by_object_id(request, sociallogin, claims)
        user = sociallogin.user if sociallogin.is_existing else None

        if not roles:
            username = str(claims.get("preferred_username") or claims.get("email") or sociallogin.account.uid)
            if user is not None:
                sync_roles(user, set(), source=source)
            record(
                action=Action.AUTH_NO_ACCESS,
                outcome=Outcome.DENIED,
                target=user if user is not None else ("portal.user", "", username[:150]),
                system_actor=f"idp:{source}",
                details={"reason": "no IdP group maps to an Enclave role", "provider": source, "idp_groups": groups},
            )
            raise ImmediateHttpResponse(render(request, "portal/no_access.html", status=403))

        if user is not None:
            self._refresh_profile(user, claims)
            sync_roles(user, roles, source=source)

    def _link_by_object_id(self, request: HttpRequest, sociallogin: Any, claims: Mapping[str, Any]) -> None:
        """A user provisioned before their first SSO login (the demo seed, an import) is the
        same person when the IdP's immutable object id matches; usernames and emails are
        never trusted for linking (an IdP-asserted username could take over an account)."""
        oid = str(claims.get("oid") or "")
        if not oid:
            return
        user = (
            get_user_model()
            .objects.filter(entra_object_id=oid)
            .exclude(socialaccount__provider=sociallogin.account.provider)
            .first()
        )
        if user is not None:
            sociallogin.connect(request, user)

    def _refresh_profile(self, user: Any, claims: Mapping[str, Any]) -> None:
        wanted = {
            "email": str(claims.get("email") or user.email)[:254],
            "display_name": str(claims.get("name") or user.display_name)[:200],
            "entra_object_id": str(claims.get("oid") or user.entra_object_id)[:64],
        }
        changed = [f for f, v in wanted.items() if getattr(user, f) != v]
        if changed:
            for f in changed:
                setattr(user, f, wanted[f])
            user.save(update_fields=changed)

    def populate_user(self, request: HttpRequest, sociallogin: Any, data: dict[str, Any]) -> Any:
        user = super().populate_user(request, sociallogin, data)
        _, claims = idp_claims(sociallogin.account.extra_data or {})
        user.display_name = str(claims.get("name") or data.get("name") or "")[:200]
        user.entra_object_id = str(claims.get("oid") or "")[:64]
        return user

    def save_user(self, request: HttpRequest, sociallogin: Any, form: Any = None) -> Any:
        with transaction.atomic():
            user = super().save_user(request, sociallogin, form)
            source = sociallogin.account.provider
            record(
                action=Action.USER_CREATED,
                target=user,
                system_actor=f"idp:{source}",
                details={"source": source, "username": user.get_username(), "entra_object_id": user.entra_object_id},
            )
            _, claims = idp_claims(sociallogin.account.extra_data or {})
            sync_roles(user, roles_for_groups(groups_from(claims)), source=source)
        return user
