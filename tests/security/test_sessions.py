"""Sessions end when idle (15 minutes by default) or at their absolute lifetime, and each
expiry is audited; brute force is locked out by django-axes and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"


def _login(client, username: str = "sam.scientist", password: str = PASSWORD):
    return client.post("/accounts/login/", {"login": username, "password": password})


def test_idle_timeout_defaults_to_fifteen_minutes():
    assert settings.SESSION_IDLE_TIMEOUT_SECONDS == 15 * 60


def test_an_idle_session_is_logged_out_and_audited(client, scientist):
    with time_machine.travel("2026-03-02 09:00:00+00:00", tick=False) as clock:
        assert _login(client).status_code == 302
        assert client.get("/profile/").status_code == 200

        clock.shift(timedelta(minutes=16))
        response = client.get("/profile/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="auth.session_expired")
    assert event.details["reason"] == "idle timeout"
    assert event.actor_id == scientist.pk


def test_activity_keeps_the_session_alive_until_the_absolute_lifetime(client, scientist):
    with time_machine.travel("2026-03-02 09:00:00+00:00", tick=False) as clock:
        _login(client)
        for _ in range(10 * 6 + 2):  # every 10 minutes, past the 10-hour lifetime
            clock.shift(timedelta(minutes=10))
            response = client.get("/profile/")
            if response.status_code != 200:
                break

    assert response.status_code == 302
    assert AuditEvent.objects.get(action="auth.session_expired").details["reason"] == "absolute lifetime reached"


def test_repeated_failed_logins_lock_the_account_out_and_are_audited(client, scientist):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, password="wrong-password-guess").status_code == 200  # the form again, with an error

    locked = _login(client, password="wrong-password-guess")
    assert locked.status_code == 429
    assert b'data-testid="locked-out"' in locked.content

    assert _login(client).status_code != 302  # even the right password is refused now
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.login_failed").count() >= settings.AXES_FAILURE_LIMIT
    lockout = AuditEvent.objects.filter(action="auth.locked_out").first()
    assert lockout is not None
    assert lockout.details["attempted_username"] == "sam.scientist"
