"""Authentication events in the trail: failed logins (never the password), lock-outs, MFA."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from axes.signals import user_locked_out

from audit.actions import Action, Outcome
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db
SECRET = "not-the-right-password-123"


def test_failed_logins_record_the_username_but_never_the_password(client, scientist):
    client.post("/accounts/login/", {"login": "sam.scientist", "password": SECRET})
    failed = AuditEvent.objects.filter(action=Action.AUTH_LOGIN_FAILED).latest("seq")
    assert failed.outcome == Outcome.DENIED
    assert failed.details["attempted_username"] == "sam.scientist"
    assert not AuditEvent.objects.filter(details__icontains=SECRET).exists()
    assert SECRET not in str(list(AuditEvent.objects.values_list("details", "target_display", "user_agent")))


def test_repeated_failures_lock_the_account_out_and_that_is_recorded(client, scientist, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post("/accounts/login/", {"login": "sam.scientist", "password": SECRET}, REMOTE_ADDR="203.0.113.9")
    locked = AuditEvent.objects.filter(action=Action.AUTH_LOCKED_OUT).order_by("seq").first()
    assert locked is not None
    assert locked.outcome == Outcome.DENIED
    assert locked.details["attempted_username"] == "sam.scientist"
    assert locked.actor_ip == "203.0.113.9"


def test_axes_lockout_signal_is_recorded_as_auth_locked_out():
    user_locked_out.send("axes", request=None, username="mallory", ip_address="198.51.100.4")
    locked = AuditEvent.objects.get(action=Action.AUTH_LOCKED_OUT)
    assert locked.target_display == "mallory"


@pytest.mark.parametrize(
    ("signal", "action", "outcome"),
    [
        (mfa_signals.authenticator_added, Action.AUTH_MFA_ENABLED, Outcome.SUCCESS),
        (mfa_signals.authenticator_removed, Action.AUTH_MFA_DISABLED, Outcome.SUCCESS),
        (mfa_signals.authenticator_used, Action.AUTH_MFA_VERIFIED, Outcome.SUCCESS),
        (mfa_signals.authenticator_reset, Action.AUTH_MFA_RESET, Outcome.SUCCESS),
        (mfa_signals.authentication_failed, Action.AUTH_MFA_FAILED, Outcome.DENIED),
    ],
)
def test_mfa_events_are_recorded(approver, signal, action, outcome):
    authenticator = SimpleNamespace(type=Authenticator.Type.TOTP)
    signal.send(Authenticator, request=None, user=approver, authenticator=authenticator)
    event = AuditEvent.objects.get(action=action)
    assert event.outcome == outcome
    assert event.target_id == str(approver.pk)
    assert event.details["type"] == "totp"
