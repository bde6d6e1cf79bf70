"""Local password login: only with ENCLAVE_LOCAL_LOGIN, enforced server-side; under the
break-glass policy only for flagged users who have TOTP, and allauth then asks for the code."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"


def _login(client, username: str):
    return client.post("/accounts/login/", {"login": username, "password": PASSWORD})


def _give_totp(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def test_local_login_works_in_the_demo(client, scientist):
    response = _login(client, "sam.scientist")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(scientist.pk)
    assert AuditEvent.objects.get(action="auth.login").details["method"] == "password"


def test_local_login_posts_are_refused_when_local_login_is_off(client, scientist, settings):
    settings.ENCLAVE_LOCAL_LOGIN = False

    response = _login(client, "sam.scientist")

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert b"Local sign-in is turned off" in response.content
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.outcome == "denied"
    assert "turned off" in event.details["reason"]


def test_the_login_page_hides_the_local_form_when_local_login_is_off(client, settings):
    settings.ENCLAVE_LOCAL_LOGIN = False

    assert b'data-testid="local-login"' not in client.get("/accounts/login/").content


def test_break_glass_policy_refuses_an_ordinary_user_even_with_the_right_password(client, catalog_admin, settings):
    settings.ENCLAVE_LOCAL_LOGIN_POLICY = "break-glass"
    _give_totp(catalog_admin)

    response = _login(client, "cara.admin")

    assert "_auth_user_id" not in client.session
    assert b"reserved for break-glass administrators" in response.content
    assert AuditEvent.objects.filter(action="auth.login_failed", outcome="denied").exists()


def test_break_glass_policy_refuses_a_flagged_user_without_totp(client, catalog_admin, settings):
    settings.ENCLAVE_LOCAL_LOGIN_POLICY = "break-glass"
    catalog_admin.break_glass = True
    catalog_admin.save()

    _login(client, "cara.admin")

    assert "_auth_user_id" not in client.session


def test_break_glass_admin_with_totp_signs_in_only_after_the_code(client, catalog_admin, settings):
    settings.ENCLAVE_LOCAL_LOGIN_POLICY = "break-glass"
    catalog_admin.break_glass = True
    catalog_admin.save()
    secret = _give_totp(catalog_admin)

    first = _login(client, "cara.admin")
    assert first.status_code == 302
    assert first["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in client.session

    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    done = client.post("/accounts/2fa/authenticate/", {"code": code})

    assert done.status_code == 302
    assert client.session["_auth_user_id"] == str(catalog_admin.pk)
    assert Authenticator.objects.filter(user=catalog_admin, type="totp").exists()
    assert AuditEvent.objects.filter(action="auth.mfa_verified", actor=catalog_admin).exists()
