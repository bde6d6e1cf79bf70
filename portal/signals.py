"""Authentication events into the audit trail (Django and allauth signals).

Failed logins record the attempted username, never the password.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.actions import Action, Outcome
from audit.services import record


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **_: Any) -> None:
    record(action=Action.AUTH_LOGIN, actor=user, target=user, details={"backend": getattr(user, "backend", "")})


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **_: Any) -> None:
    if user is not None:
        record(action=Action.AUTH_LOGOUT, actor=user, target=user)


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any) -> None:
    username = str(credentials.get("username") or credentials.get("login") or "")[:150]
    record(
        action=Action.AUTH_LOGIN_FAILED,
        outcome=Outcome.DENIED,
        target=("portal.user", "", username),
        system_actor="anonymous",
        details={"attempted_username": username},
    )
