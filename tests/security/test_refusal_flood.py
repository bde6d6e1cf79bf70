"""Refusals are recorded, but an attacker cannot flood the audit trail: at most
ENCLAVE_REFUSAL_AUDIT_PER_MINUTE events per kind per source a minute, then one summary event."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from audit.models import AuditEvent
from portal.api_auth import PersonalTokenAuthentication
from portal.tokens import issue_token, revoke_token

pytestmark = pytest.mark.django_db

FLOOD = 10_000
HTTP_FLOOD = 300


def _forged() -> str:
    return f"enc_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"


def test_a_forged_token_is_refused_with_401_and_recorded(client):
    response = client.get("/api/v1/workspaces", HTTP_AUTHORIZATION=f"Bearer {_forged()}")

    assert response.status_code == 401
    event = AuditEvent.objects.get(action="auth.token_rejected")
    assert event.outcome == "denied"
    assert event.details["path"] == "/api/v1/workspaces"
    assert event.details["reason"] == "Invalid token."


def test_revoked_and_expired_tokens_are_recorded_as_rejected(client, scientist, time_machine):
    token, secret = issue_token(scientist, name="old", days=1)
    revoke_token(scientist, token)
    _, expiring = issue_token(scientist, name="short", days=1)

    assert client.get("/api/v1/workspaces", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    time_machine.move_to(timezone.now() + timedelta(days=2))
    assert client.get("/api/v1/workspaces", HTTP_AUTHORIZATION=f"Bearer {expiring}").status_code == 401

    reasons = list(AuditEvent.objects.filter(action="auth.token_rejected").values_list("details__reason", flat=True))
    assert reasons == ["Token expired or revoked.", "Token expired or revoked."]


def test_a_csrf_failure_is_refused_with_a_styled_page_and_recorded(scientist):
    client = Client(enforce_csrf_checks=True)
    client.force_login(scientist)

    response = client.post("/profile/tokens/", {"name": "x", "days": 1})

    assert response.status_code == 403
    assert b'data-testid="error-403"' in response.content
    assert response["X-Frame-Options"] == "DENY"
    event = AuditEvent.objects.get(action="auth.csrf_failed")
    assert event.actor_id == scientist.pk
    assert event.details["path"] == "/profile/tokens/"


def _flood(send: Callable[[], int], count: int) -> tuple[set[int], int]:
    started = time.time()
    statuses = set()
    logging.disable(logging.WARNING)  # django.request logs every 401; that is not what is measured here
    try:
        for _ in range(count):
            statuses.add(send())
    finally:
        logging.disable(logging.NOTSET)
    return statuses, int(time.time() // 60) - int(started // 60) + 1


def _assert_bounded(count: int, minutes: int) -> None:
    rejected = AuditEvent.objects.filter(action="auth.token_rejected").count()
    summaries = AuditEvent.objects.filter(action="auth.refusals_suppressed").count()
    print(f"\n{count} forged tokens over {minutes} clock minute(s): {rejected} auth.token_rejected + "
          f"{summaries} auth.refusals_suppressed audit events")  # fmt: skip
    assert 1 <= rejected <= settings.ENCLAVE_REFUSAL_AUDIT_PER_MINUTE * minutes
    assert 1 <= summaries <= 2 * minutes  # at most one for the per-source bound, one for the global bound


@pytest.mark.timeout(900)  # ~1 ms a refusal on an idle machine; shared CI machines are far slower
def test_ten_thousand_forged_tokens_leave_a_bounded_number_of_audit_events():
    """Through the API's authentication class, the path every API request takes (the full HTTP
    stack is exercised by the next test; 10,000 requests through it exceed this suite's time budget)."""
    auth = PersonalTokenAuthentication()
    factory = APIRequestFactory()

    def send() -> int:
        request = Request(factory.get("/api/v1/workspaces", HTTP_AUTHORIZATION=f"Bearer {_forged()}"))
        try:
            auth.authenticate(request)
        except AuthenticationFailed as exc:
            return exc.status_code
        return 200

    statuses, minutes = _flood(send, FLOOD)

    assert statuses == {401}
    _assert_bounded(FLOOD, minutes)


def test_a_flood_of_forged_token_http_requests_leaves_a_bounded_number_of_audit_events(client):
    def send() -> int:
        return client.get("/api/v1/workspaces", HTTP_AUTHORIZATION=f"Bearer {_forged()}").status_code

    statuses, minutes = _flood(send, HTTP_FLOOD)

    assert statuses == {401}
    _assert_bounded(HTTP_FLOOD, minutes)
