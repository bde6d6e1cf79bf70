"""MFA policy: users holding a role in ``ENCLAVE_MFA_REQUIRED_ROLES`` must have TOTP (allauth
MFA) or have had MFA asserted by the IdP (``amr``/``acr``) for this session's login.

Until then every page sends them to TOTP setup; only the MFA pages, re-authentication,
sign-in/out and the SSO callbacks stay reachable. allauth itself asks a user who has TOTP
for a code at each login, so "has TOTP" here implies "passed MFA at login".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from audit.actions import Action
from audit.services import record
from core.roles import roles_of
from portal.identity import IDP_MFA_SESSION_KEY, recently_authenticated

ALLOWED_URL_NAMES = frozenset(
    {
        "account_logout",
        "account_login",
        "account_reauthenticate",
        "openid_connect_login",
        "openid_connect_callback",
        "socialaccount_login_error",
        "socialaccount_login_cancelled",
        "saml_login",
        "saml_acs",
        "saml_finish_acs",
        "saml_metadata",
        "saml_sls",
    }
)
REDIRECT_AUDITED_SESSION_KEY = "_enclave_mfa_required_audited"


def mfa_required(user: Any) -> bool:
    """Whether ``user`` holds a role that needs MFA."""
    required = set(settings.ENCLAVE_MFA_REQUIRED_ROLES)
    return any(role.value in required for role in roles_of(user))


def has_totp(user: Any) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists()


MFA_ENROLLED_SESSION_KEY = "_enclave_mfa_enrolled"  # TOTP was activated in this session (portal.signals)
_ALLAUTH_METHODS_SESSION_KEY = "account_authentication_methods"  # allauth's record of this session's logins


def session_mfa_method(request: HttpRequest) -> str:
    """How *this session* passed MFA: "idp" (the IdP asserted it at login), "totp" (allauth asked for a
    code, or TOTP was set up in it), or "" (it did not). Unlike ``mfa_satisfied`` this does not trust
    the mere existence of an authenticator: a token issued from this session inherits the answer."""
    session = request.session
    if session.get(IDP_MFA_SESSION_KEY):
        return "idp"
    methods = session.get(_ALLAUTH_METHODS_SESSION_KEY) or []
    if any(isinstance(m, dict) and m.get("method") == "mfa" for m in methods) or session.get(MFA_ENROLLED_SESSION_KEY):
        return "totp"
    return ""


def token_satisfies_mfa(user: Any, mfa_at_issue: str) -> bool:
    """A token carries MFA only if the session that issued it passed MFA; one issued through TOTP also
    needs the user to still have TOTP (removing it withdraws what the token inherited)."""
    if mfa_at_issue == "idp":
        return True
    return mfa_at_issue == "totp" and has_totp(user)


def mfa_satisfied(request: HttpRequest) -> bool:
    """MFA-required users pass with TOTP, or with the IdP's MFA assertion for this login."""
    return bool(request.session.get(IDP_MFA_SESSION_KEY)) or has_totp(request.user)


class MFARequiredMiddleware:
    """Sends an MFA-required user without MFA to TOTP setup before any other page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any) -> Any:
        user: Any = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        match = request.resolver_match
        url_name = match.url_name if match else ""
        if url_name in ALLOWED_URL_NAMES or (url_name or "").startswith("mfa_"):
            return None
        if not mfa_required(user) or mfa_satisfied(request):
            return None
        if not request.session.get(REDIRECT_AUDITED_SESSION_KEY):
            # Once per session: the fact is "this user was made to set up MFA", not every click.
            record(
                action=Action.AUTH_MFA_REQUIRED,
                actor=user,
                target=user,
                details={"path": request.path[:300], "roles": sorted(r.value for r in roles_of(user))},
            )
            request.session[REDIRECT_AUDITED_SESSION_KEY] = True
            messages.warning(
                request, "Your role requires multi-factor authentication: set up an authenticator app to continue."
            )
        target = reverse("mfa_activate_totp")
        if not recently_authenticated(request):
            # Setting up TOTP needs a fresh sign-in (allauth re-authentication); an SSO user has
            # no password to re-enter, so they sign in again and land on the setup page.
            logout(request)
            messages.info(request, "Your role requires multi-factor authentication: sign in again to set it up.")
            return HttpResponseRedirect(f"{reverse('account_login')}?next={target}")
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": "Set up multi-factor authentication first.", "mfa_setup": target}, status=403
            )
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return HttpResponseRedirect(target)
