"""Authentication events the audit app records itself, beside those in ``portal.signals``
(login, logout, failed login, lock-out, MFA added/removed/used/failed): MFA recovery
codes regenerated, which allauth reports as ``authenticator_reset``."""

from __future__ import annotations

from typing import Any

from allauth.mfa.signals import authenticator_reset
from django.dispatch import receiver

from audit.actions import Action
from audit.services import record


@receiver(authenticator_reset)
def _mfa_reset(sender: Any, request: Any, user: Any, authenticator: Any, **_: Any) -> None:
    record(action=Action.AUTH_MFA_RESET, actor=user, target=user, details={"type": str(authenticator.type)})
