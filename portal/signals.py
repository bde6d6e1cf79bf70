"""Authentication events into the audit trail (Django and allauth signals).

Failed logins record the attempted username, never the password.
"""

from __future__ import annotations

from typing import Any

from allauth.account.signals import user_logged_in as allauth_user_logged_in
from allauth.mfa.signals import authentication_failed as mfa_authentication_failed
from allauth.mfa.signals import authenticator_added, authenticator_removed, authenticator_used
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.actions import Action, Outcome
from audit.services import record


def _last_authentication(request: Any) -> dict[str, Any]:
    """allauth's record of how this login authenticated (password or which SSO provider)."""
    from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY

    methods = getattr(request, "session", {}).get(AUTHENTICATION_METHODS_SESSION_KEY) or []
    return dict(methods[-1]) if methods else {}


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **_: Any) -> None:
    details = {"backend": getattr(user, "backend", "")}
    last = _last_authentication(request) if request is not None else {}
    if last.get("method"):
        details["method"] = str(last["method"])
    if last.get("provider"):
        details["provider"] = str(last["provider"])
    record(action=Action.AUTH_LOGIN, actor=user, target=user, details=details)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **_: Any) -> None:
    if user is not None:
        record(action=Action.AUTH_LOGOUT, actor=user, target=user)


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any) -> None:
    from portal.refusals import record_refusal

    username = str(credentials.get("username") or credentials.get("login") or "")[:150]
    record_refusal(
        request,
        kind="login_failed",
        reason="sign-in failed",
        target=("portal.user", "", username),
        attempted_username=username,
    )


# --- identity: IdP MFA assertion, lock-outs, MFA authenticators ----------------------------


@receiver(allauth_user_logged_in)
def _remember_idp_mfa(sender: Any, request: Any, user: Any, sociallogin: Any = None, **_: Any) -> None:
    """Remember, for this session only, whether the IdP asserted MFA in *this* login."""
    from portal.identity import IDP_MFA_SESSION_KEY, idp_asserted_mfa, idp_claims
    from portal.identity.config import provider_config

    asserted = False
    if sociallogin is not None:
        id_token, _claims = idp_claims(sociallogin.account.extra_data or {})
        asserted = idp_asserted_mfa(id_token, provider_config(sociallogin.account.provider))
    request.session[IDP_MFA_SESSION_KEY] = asserted


@receiver(user_locked_out)
def _locked_out(
    sender: Any, request: Any = None, username: str | None = None, ip_address: Any = None, **_: Any
) -> None:
    from portal.refusals import record_refusal

    name = str(username or "")[:150]
    record_refusal(
        request,
        kind="locked_out",
        reason="too many failed sign-ins: locked out",
        target=("portal.user", "", name),
        attempted_username=name,
        ip_address=str(ip_address or ""),
    )


@receiver(authenticator_added)
def _mfa_added(sender: Any, request: Any, user: Any, authenticator: Any, **_: Any) -> None:
    record(action=Action.AUTH_MFA_ENABLED, actor=user, target=user, details={"type": str(authenticator.type)})
    if request is not None and hasattr(request, "session"):
        from portal.mfa import MFA_ENROLLED_SESSION_KEY

        # Setting up TOTP needs a fresh sign-in and a valid code: this session has passed MFA.
        request.session[MFA_ENROLLED_SESSION_KEY] = True


@receiver(authenticator_removed)
def _mfa_removed(sender: Any, request: Any, user: Any, authenticator: Any, **_: Any) -> None:
    record(action=Action.AUTH_MFA_DISABLED, actor=user, target=user, details={"type": str(authenticator.type)})


@receiver(authenticator_used)
def _mfa_used(sender: Any, request: Any, user: Any, authenticator: Any, **kw: Any) -> None:
    record(
        action=Action.AUTH_MFA_VERIFIED,
        actor=user,
        target=user,
        details={"type": str(authenticator.type), "reauthenticated": bool(kw.get("reauthenticated"))},
    )


@receiver(mfa_authentication_failed)
def _mfa_failed(sender: Any, request: Any, user: Any, authenticator: Any = None, **_: Any) -> None:
    record(
        action=Action.AUTH_MFA_FAILED,
        outcome=Outcome.DENIED,
        target=user,
        system_actor="anonymous",
        details={"type": str(getattr(authenticator, "type", ""))},
    )
