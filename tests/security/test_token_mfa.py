"""MFA is a property of the actor, whatever the transport: a personal API token of a user whose role
requires MFA works only if the session that issued it passed MFA (and, for TOTP, while the user keeps
it). Refusals are 403s with a clear message and are audited."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.contrib.auth.models import Group
from django.test import Client

from approvals import services
from audit.models import AuditEvent
from portal.tokens import issue_token
from tests.factories import DatasetFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def pending(scientist: Any) -> Any:
    workspace: Any = WorkspaceFactory(
        owner=scientist,
        state="running",
        data_classification="restricted",
        cloud_ref={"provider": "aws_sagemaker", "resource_name": "enclave-ws1", "resource_id": "arn:x", "extra": {}},
    )
    dataset: Any = DatasetFactory(slug="cards", name="Card transactions", classification="confidential")
    return services.request_access(scientist, dataset, workspace, "Fraud model retraining for Q3.", 8)


def _approve(secret: str, req: Any) -> Any:
    return Client().post(
        f"/api/v1/access-requests/{req.pk}/approve",
        {"comment": "ok"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )


def _sign_in_with_totp(user: Any, totp_secret: str) -> Client:
    """The real sign-in: password, then allauth asks for the authenticator code."""
    client = Client()
    first = client.post("/accounts/login/", {"login": user.username, "password": PASSWORD})
    assert first["Location"] == "/accounts/2fa/authenticate/"
    code = format_hotp_value(hotp_value(totp_secret, next(yield_hotp_counters_from_time())))
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    return client


def _new_token_from(client: Client) -> str:
    response = client.post("/profile/tokens/", {"name": "cli", "days": 7})
    assert response.status_code == 201
    match = re.search(rb'data-testid="token-secret">([^<]+)<', response.content)
    assert match
    return match.group(1).decode()


def test_an_approver_token_without_mfa_cannot_decide_and_the_refusal_is_audited(approver, pending):
    _, secret = issue_token(approver, name="cli", days=7)

    response = _approve(secret, pending)

    assert response.status_code == 403
    assert "multi-factor" in response.json()["detail"]
    pending.refresh_from_db()
    assert pending.state == "pending"
    event = AuditEvent.objects.get(action="auth.token_mfa_required")
    assert event.actor_id == approver.pk
    assert event.outcome == "denied"
    assert event.details["path"] == f"/api/v1/access-requests/{pending.pk}/approve"


def test_after_enrolling_mfa_a_token_issued_from_the_mfa_session_can_decide(approver, pending):
    _, old_secret = issue_token(approver, name="before-mfa", days=7)
    totp_secret = generate_totp_secret()
    TOTP.activate(approver, totp_secret)

    new_secret = _new_token_from(_sign_in_with_totp(approver, totp_secret))

    assert _approve(old_secret, pending).status_code == 403
    response = _approve(new_secret, pending)
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "approved"
    created = AuditEvent.objects.filter(action="api_token.created", actor=approver).order_by("-seq").first()
    assert created is not None
    assert created.details["mfa_at_issue"] == "totp"


def test_a_scientist_promoted_to_approver_cannot_decide_with_a_token_from_before(scientist, other_scientist, pending):
    colleague = other_scientist
    client = Client()
    client.force_login(colleague)
    secret = _new_token_from(client)  # a scientist's session needs no MFA, so none was passed
    colleague.groups.add(Group.objects.get(name="approver"))

    response = _approve(secret, pending)

    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.state == "pending"
    assert AuditEvent.objects.filter(action="auth.token_mfa_required", actor=colleague).exists()


def test_removing_totp_withdraws_what_a_totp_issued_token_inherited(approver, pending):
    totp_secret = generate_totp_secret()
    authenticator = TOTP.activate(approver, totp_secret)
    secret = _new_token_from(_sign_in_with_totp(approver, totp_secret))

    authenticator.instance.delete()

    assert _approve(secret, pending).status_code == 403


def test_an_idp_asserted_mfa_session_issues_tokens_that_carry_it(approver, pending):
    from tests.fixtures.mfa import client_with_mfa

    secret = _new_token_from(client_with_mfa(approver))

    assert _approve(secret, pending).status_code == 200


def test_a_scientist_token_needs_no_mfa(scientist):
    _, secret = issue_token(scientist, name="cli", days=7)

    response = Client().get("/api/v1/workspaces", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert response.status_code == 200
