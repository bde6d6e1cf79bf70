"""Rate limits: a burst of state-changing API calls, or of sign-in attempts, is answered 429 with
``Retry-After`` and recorded; reads and ordinary use are not throttled."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.throttling import SimpleRateThrottle

from audit.models import AuditEvent
from portal.tokens import issue_token

pytestmark = pytest.mark.django_db


def _bearer(user: Any) -> dict[str, Any]:
    _, secret = issue_token(user, name="cli", days=1)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _rates(monkeypatch: pytest.MonkeyPatch, **rates: str) -> None:
    """DRF reads the rates into a class attribute at import; patch it for this test only."""
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


def test_a_burst_of_writes_gets_429_with_retry_after_and_is_recorded(scientist, monkeypatch):
    _rates(monkeypatch, user_writes="5/min", ip_writes="100/min")
    auth = _bearer(scientist)
    client = Client()

    statuses = [
        client.post("/api/v1/workspaces", {}, content_type="application/json", **auth).status_code for _ in range(8)
    ]

    assert statuses[:5] == [400] * 5  # an empty body is invalid, but it is served
    assert statuses[5:] == [429] * 3
    limited = client.post("/api/v1/workspaces", {}, content_type="application/json", **auth)
    assert int(limited["Retry-After"]) > 0
    assert AuditEvent.objects.filter(action="auth.throttled", actor=scientist).exists()


def test_reads_are_not_throttled(scientist, monkeypatch):
    _rates(monkeypatch, user_writes="1/min", ip_writes="1/min")
    auth = _bearer(scientist)

    statuses = {Client().get("/api/v1/workspaces", **auth).status_code for _ in range(20)}

    assert statuses == {200}


def test_a_burst_of_sign_in_attempts_gets_429_with_retry_after(scientist, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login": "3/m/ip", "login_failed": "100/m/ip"}
    client = Client()

    statuses = [
        client.post("/accounts/login/", {"login": "sam.scientist", "password": "wrong-password-123"}).status_code
        for _ in range(5)
    ]

    assert 429 in statuses
    limited = client.post("/accounts/login/", {"login": "sam.scientist", "password": "wrong-password-123"})
    assert limited.status_code == 429
    assert limited["Retry-After"] == "60"
    assert b'data-testid="error-429"' in limited.content


def test_normal_use_at_the_default_rates_is_never_throttled(scientist):
    auth = _bearer(scientist)
    client = Client()

    statuses = [
        client.post("/api/v1/workspaces", {}, content_type="application/json", **auth).status_code for _ in range(30)
    ]

    assert 429 not in statuses
