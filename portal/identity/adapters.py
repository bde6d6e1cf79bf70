"""allauth adapters: just-in-time users from SSO bound to the identity that asserted them,
roles re-applied from the IdP's groups at every login, the OIDC ``nonce`` checked, and local
password login kept to the demo and to break-glass administrators with MFA.

Every outcome lands in the audit trail: ``user.created``, ``identity.linked``,
``user.roles_changed``, ``auth.no_access``, ``auth.groups_overage``,
``auth.identity_conflict`` (a security event), ``auth.sso_failed`` (state, nonce, token or
provider errors), ``auth.login_failed`` for refused local logins; ``auth.login`` is
recorded by ``portal.signals``.
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Mapping
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.saml.provider import SAMLProvider
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import render

from audit.actions import Action, Outcome
from audit.services import record
from portal.identity.claims import groups_from, groups_overage, idp_claims, roles_for_groups
from portal.identity.config import ENTRA_OBJECT_ID_CLAIM, ProviderConfig, configured_providers, provider_config
from portal.identity.oidc import EnclaveOIDCProvider
from portal.identity.saml import EnclaveSAMLProvider, SAMLAssertionRefused, classify_saml_error
from portal.identity.selectors import identity_for
from portal.identity.services import (
    LINK_EXISTING_ACCOUNT,
    LINK_JIT,
    LINK_SIGNED_IN,
    IdentityConflictError,
    link_identity,
    record_identity_conflict,
    sync_roles,
    touch_identity,
)
from portal.models import Identity

LOCAL_POLICY_DEMO = "demo"
LOCAL_POLICY_BREAK_GLASS = "break-glass"
IDP_MFA_SESSION_KEY = "_enclave_idp_mfa"  # the IdP asserted MFA (amr/acr) for this session's login


class NonceMismatchError(Exception):
    """The ID token's ``nonce`` is not the one this browser's login sent (replay/injection)."""


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


def _issuer(sociallogin: Any, id_token: Mapping[str, Any]) -> str:
    """Who asserted the identity: the ID token's (verified) ``iss``; for SAML, the IdP entity id."""
    if id_token.get("iss"):
        return str(id_token["iss"])
    try:
        provider = sociallogin.account.get_provider()
        return str(((provider.app.settings or {}).get("idp") or {}).get("entity_id") or "")
    except Exception:  # an app that is no longer configured: the identity is keyed by provider alone
        return ""


def identity_conflict(
    config: ProviderConfig, claims: Mapping[str, Any], subject: str, username: str
) -> tuple[str, Any] | None:
    """Why a *new* identity's assertion collides with one bound elsewhere, and with whom.

    - a claim another provider uses as its stable subject (Entra's ``oid``...) carries the
      subject of an identity of that provider: a second IdP asserting someone's object id;
    - the ``oid`` asserted equals the Entra object id recorded on an existing user (SCIM,
      an import) who is not linked to this identity: linking must be explicit;
    - the username the IdP asserts belongs to a user bound to another provider.
    """
    user_model = get_user_model()
    for other in configured_providers():
        if other == config.provider:
            continue
        claim = provider_config(other).subject_claim
        value = str(claims.get(claim) or "") if claim != "sub" else ""
        if value:
            bound = Identity.objects.select_related("user").filter(provider=other, subject=value).first()
            if bound is not None:
                return f"the {claim!r} claim is the subject of an identity at provider {other!r}", bound.user
    oid = str(claims.get(ENTRA_OBJECT_ID_CLAIM) or "")
    if oid:
        owner = user_model.objects.filter(entra_object_id=oid).first()
        if owner is not None:
            return "the asserted Entra object id belongs to an existing user not linked to this identity", owner
    if username:
        owner = user_model.objects.filter(username=username, identities__isnull=False).distinct().first()
        if owner is not None:
            return "the asserted username belongs to a user bound to another identity", owner
    return None


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Just-in-time users bound to the identity that asserted them; roles re-applied from
    the IdP's groups at every login; conflicting assertions refused."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return True

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: Any) -> bool:
        return True

    def get_provider(self, request: HttpRequest, provider: Any, client_id: Any = None) -> Any:
        instance = super().get_provider(request, provider, client_id=client_id)
        if type(instance) is OpenIDConnectProvider:
            instance = EnclaveOIDCProvider(request, app=instance.app)
        elif type(instance) is SAMLProvider:
            instance = EnclaveSAMLProvider(request, app=instance.app)
        return instance

    def get_requests_session(self) -> Any:
        """Outgoing calls to IdPs (discovery, JWKS, token, userinfo) trust ``ENCLAVE_SSO_CA_BUNDLE``
        when set: an internal CA for an on-premises Keycloak, say."""
        session = super().get_requests_session()
        if settings.ENCLAVE_SSO_CA_BUNDLE:
            # Per request: requests lets REQUESTS_CA_BUNDLE override a session-level ``verify``.
            session.request = functools.partial(session.request, verify=settings.ENCLAVE_SSO_CA_BUNDLE)
        return session

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
        saml: dict[str, str] = {}
        if isinstance(exception, SAMLAssertionRefused):
            reason = str(exception)
            saml = {"saml_check": exception.check}
        elif exception is not None:
            reason = str(exception) or type(exception).__name__
        elif "saml_last_error_reason" in extra:  # python3-saml refused the Response
            reason = f"SAML response refused: {extra['saml_last_error_reason']}"
            saml = {"saml_check": classify_saml_error(str(extra["saml_last_error_reason"] or ""))}
        elif "state_id" in extra:
            reason = "state parameter missing, unknown or expired"
        else:
            reason = f"identity provider returned an error: {request.GET.get('error', error or 'unknown')}"
        if isinstance(provider, SAMLProvider):
            saml["saml_organization"] = str(getattr(provider.app, "client_id", "") or "")
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
                **saml,
            },
        )

    # -- the login itself
    def pre_social_login(self, request: HttpRequest, sociallogin: Any) -> None:
        """Check the nonce; find the user by the asserted identity (provider, issuer,
        subject) and by nothing else; refuse a conflicting assertion, a groups overage and
        a user without a mapped group; link a second provider when the user asked while
        signed in; refresh an existing user's profile and roles."""
        extra_data = sociallogin.account.extra_data or {}
        id_token, claims = idp_claims(extra_data)
        provider = sociallogin.account.get_provider(request)
        if isinstance(provider, OpenIDConnectProvider):
            expected = (sociallogin.state or {}).get("nonce")
            if not expected or not secrets.compare_digest(str(id_token.get("nonce", "")), str(expected)):
                exc = NonceMismatchError("ID token nonce does not match this login's nonce")
                raise ImmediateHttpResponse(render_authentication_error(request, provider, exception=exc))

        source = sociallogin.account.provider
        config = provider_config(source)
        issuer = _issuer(sociallogin, id_token)
        subject = str(sociallogin.account.uid)
        if (sociallogin.state or {}).get("process") == "connect":
            self._link_signed_in_user(request, sociallogin, issuer, subject, claims)
            return

        identity = identity_for(provider=source, issuer=issuer, subject=subject)
        user: Any = None
        if identity is not None:
            user = identity.user
            if sociallogin.is_existing and sociallogin.user.pk != user.pk:
                self._refuse_conflict(request, config, issuer, subject, "social account and identity disagree", user)
        elif sociallogin.is_existing:
            user = sociallogin.user  # bound before identities were recorded: adopt it below
        else:
            username = str(claims.get("preferred_username") or "")[:150]
            conflict = identity_conflict(config, claims, subject, username)
            if conflict is not None:
                self._refuse_conflict(request, config, issuer, subject, conflict[0], conflict[1])

        overage = groups_overage(claims, config)
        if overage:
            self._refuse_overage(request, config, user, claims, overage)
        groups = groups_from(claims, config)
        roles = roles_for_groups(groups, config)
        if not roles:
            username = str(claims.get("preferred_username") or claims.get("email") or subject)
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

        if user is None:
            return  # a new person: save_user creates the user and binds the identity
        with transaction.atomic():
            if not sociallogin.is_existing:
                sociallogin.connect(request, user)  # an identity linked by an administrator or SCIM
            if identity is None:
                identity = link_identity(
                    user=user, provider=source, issuer=issuer, subject=subject, method=LINK_EXISTING_ACCOUNT,
                    claims=claims,
                )  # fmt: skip
            touch_identity(identity, claims)
            self._refresh_profile(user, claims, config)
            sync_roles(user, roles, source=source)

    def _refuse_conflict(
        self, request: HttpRequest, config: ProviderConfig, issuer: str, subject: str, reason: str, user: Any
    ) -> None:
        record_identity_conflict(
            provider=config.provider, issuer=issuer, subject=subject, reason=reason, conflicting_user=user
        )
        raise ImmediateHttpResponse(
            render(
                request,
                "portal/sso_refused.html",
                {
                    "reason": "identity_conflict",
                    "message": "The identity your provider asserted is already bound to another Enclave account. "
                    "For your protection the sign-in was refused and the security team has been notified. If this "
                    "is your account at a second provider, sign in with your usual provider first and link it from "
                    "your profile, or ask an administrator to link it.",
                },
                status=403,
            )
        )

    def _refuse_overage(
        self, request: HttpRequest, config: ProviderConfig, user: Any, claims: Mapping[str, Any], marker: str
    ) -> None:
        username = str(claims.get("preferred_username") or claims.get("email") or "")[:150]
        record(
            action=Action.AUTH_GROUPS_OVERAGE,
            outcome=Outcome.DENIED,
            target=user if user is not None else ("portal.user", "", username),
            system_actor=f"idp:{config.provider}",
            details={
                "provider": config.provider,
                "reason": "the identity provider sent a groups overage marker instead of the user's groups",
                "marker": marker,
                "resolution": config.groups_overage,
            },
        )
        raise ImmediateHttpResponse(
            render(
                request,
                "portal/sso_refused.html",
                {
                    "reason": "groups_overage",
                    "message": "You are a member of too many groups for your identity provider to list them in the "
                    "sign-in token, so Enclave cannot tell which role you have. Ask the platform team to configure "
                    'the Enclave application to emit only the groups assigned to it (Entra ID: "Groups assigned '
                    'to the application"), then sign in again.',
                },
                status=403,
            )
        )

    def _link_signed_in_user(
        self, request: HttpRequest, sociallogin: Any, issuer: str, subject: str, claims: Mapping[str, Any]
    ) -> None:
        """A user signed in through a linked identity adds a second provider (allauth's
        ``process=connect``): the one self-service link, audited like the others."""
        user: Any = getattr(request, "user", None)
        source = sociallogin.account.provider
        config = provider_config(source)
        if user is None or not user.is_authenticated or not user.identities.exists():
            self._refuse_conflict(request, config, issuer, subject, "link requested without a linked sign-in", None)
        try:
            link_identity(
                user=user, provider=source, issuer=issuer, subject=subject, method=LINK_SIGNED_IN, actor=user,
                claims=claims,
            )  # fmt: skip
        except IdentityConflictError:
            owner = identity_for(provider=source, issuer=issuer, subject=subject)
            self._refuse_conflict(
                request, config, issuer, subject, "link requested for an identity bound to another user",
                owner.user if owner else None,
            )  # fmt: skip

    def _refresh_profile(self, user: Any, claims: Mapping[str, Any], config: ProviderConfig) -> None:
        wanted = {
            "email": str(claims.get("email") or user.email)[:254],
            "display_name": str(claims.get("name") or user.display_name)[:200],
        }
        if config.is_entra and claims.get(ENTRA_OBJECT_ID_CLAIM):
            wanted["entra_object_id"] = str(claims[ENTRA_OBJECT_ID_CLAIM])[:64]
        changed = [f for f, v in wanted.items() if getattr(user, f) != v]
        if changed:
            for f in changed:
                setattr(user, f, wanted[f])
            user.save(update_fields=changed)

    def populate_user(self, request: HttpRequest, sociallogin: Any, data: dict[str, Any]) -> Any:
        user = super().populate_user(request, sociallogin, data)
        _, claims = idp_claims(sociallogin.account.extra_data or {})
        user.display_name = str(claims.get("name") or data.get("name") or "")[:200]
        config = provider_config(sociallogin.account.provider)
        user.entra_object_id = str(claims.get(ENTRA_OBJECT_ID_CLAIM) or "")[:64] if config.is_entra else ""
        return user

    def save_user(self, request: HttpRequest, sociallogin: Any, form: Any = None) -> Any:
        """A new person: the user, their identity and their roles, in one transaction."""
        with transaction.atomic():
            user = super().save_user(request, sociallogin, form)
            source = sociallogin.account.provider
            id_token, claims = idp_claims(sociallogin.account.extra_data or {})
            config = provider_config(source)
            record(
                action=Action.USER_CREATED,
                target=user,
                system_actor=f"idp:{source}",
                details={"source": source, "username": user.get_username(), "entra_object_id": user.entra_object_id},
            )
            link_identity(
                user=user, provider=source, issuer=_issuer(sociallogin, id_token),
                subject=str(sociallogin.account.uid), method=LINK_JIT, claims=claims,
            )  # fmt: skip
            sync_roles(user, roles_for_groups(groups_from(claims, config), config), source=source)
        return user
