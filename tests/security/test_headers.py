"""HTTP hardening on real responses: CSP without inline script, clickjacking, referrer,
nosniff, HSTS and secure cookies under production settings, and CSRF refusal."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def _csp(response) -> dict[str, list[str]]:
    directives = [d.strip() for d in response["Content-Security-Policy"].split(";") if d.strip()]
    return {d.split()[0]: d.split()[1:] for d in directives}


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/accounts/login/")

    csp = _csp(response)
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


def test_pages_refuse_framing_sniffing_and_leak_no_referrer(client):
    response = client.get("/accounts/login/")

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_pages_have_no_inline_script_or_style_attributes(client, scientist):
    client.force_login(scientist)
    for url in ("/accounts/login/", "/profile/"):
        html = client.get(url).content.decode()
        for inline in ("<script>", " onclick=", " style="):
            assert inline not in html, (url, inline)


@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_SSL_REDIRECT=True)
def test_production_like_settings_send_hsts_and_redirect_plain_http(client):
    plain = client.get("/accounts/login/")
    assert plain.status_code == 301
    assert plain["Location"].startswith("https://")

    secure = client.get("/accounts/login/", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@override_settings(CSRF_COOKIE_SECURE=True, CSRF_COOKIE_NAME="__Host-enclave_csrf")
def test_csrf_cookie_is_secure_httponly_and_samesite_in_production(client):
    response = client.get("/accounts/login/", secure=True)

    csrf = response.cookies["__Host-enclave_csrf"]
    assert csrf["secure"]
    assert csrf["httponly"]
    assert csrf["samesite"] == "Lax"
    assert csrf["path"] == "/"


def test_session_cookie_set_at_login_is_httponly_and_samesite(client, scientist):
    response = client.post("/accounts/login/", {"login": "sam.scientist", "password": "correct-horse-battery-staple"})

    cookie = response.cookies["enclave_session"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] in ("", None) or not cookie["max-age"]  # expires with the browser


@override_settings(
    SESSION_COOKIE_SECURE=True, SESSION_COOKIE_NAME="__Host-enclave_session", CSRF_COOKIE_SECURE=True,
    CSRF_COOKIE_NAME="__Host-enclave_csrf",
)  # fmt: skip
def test_session_cookie_is_secure_in_production(client, scientist):
    response = client.post(
        "/accounts/login/", {"login": "sam.scientist", "password": "correct-horse-battery-staple"}, secure=True
    )

    cookie = response.cookies["__Host-enclave_session"]
    assert cookie["secure"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"


def test_a_post_without_csrf_token_is_refused(scientist):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(scientist)

    response = browser.post("/profile/tokens/", {"name": "ci", "days": 30})

    assert response.status_code == 403
    assert not scientist.api_tokens.exists()


def test_a_login_post_without_csrf_token_is_refused(scientist):
    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"login": "sam.scientist", "password": "correct-horse-battery-staple"}
    )

    assert response.status_code == 403
