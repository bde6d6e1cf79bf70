"""Personal API tokens on the profile page: listed, created (secret shown once, stored
hashed), revoked by POST; a token acts with its owner's permissions and a revoked or
expired one gets 401."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from portal.models import PersonalToken
from portal.tokens import issue_token

pytestmark = pytest.mark.django_db

API_URL = "/api/schema/"


def test_profile_lists_the_users_own_tokens_only(client, scientist, other_scientist):
    issue_token(scientist, name="laptop", days=30)
    issue_token(other_scientist, name="not-mine", days=30)
    client.force_login(scientist)

    response = client.get("/profile/")

    assert response.status_code == 200
    assert b"laptop" in response.content
    assert b"not-mine" not in response.content


def test_creating_a_token_shows_the_secret_once_and_stores_only_its_hash(client, scientist):
    client.force_login(scientist)

    response = client.post("/profile/tokens/", {"name": "CI pipeline", "days": 7})

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    secret = response.context["secret"]
    assert secret.startswith("enc_")
    assert secret.encode() in response.content
    token = PersonalToken.objects.get(user=scientist)
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {token.digest, token.prefix, token.name}
    assert abs(token.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    assert secret.encode() not in client.get("/profile/").content
    assert AuditEvent.objects.filter(action="api_token.created", actor=scientist).exists()


def test_a_token_lifetime_outside_the_limits_is_refused(client, scientist):
    client.force_login(scientist)

    response = client.post("/profile/tokens/", {"name": "forever", "days": 365})

    assert response.status_code == 400
    assert not PersonalToken.objects.exists()


def test_a_token_authenticates_api_calls_as_its_owner(client, scientist):
    _, secret = issue_token(scientist, name="cli", days=1)

    response = client.get(API_URL, HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert response.status_code == 200
    assert PersonalToken.objects.get().last_used_at is not None


def test_a_revoked_token_gets_401(client, scientist):
    token, secret = issue_token(scientist, name="cli", days=1)
    client.force_login(scientist)
    assert client.post(f"/profile/tokens/{token.pk}/revoke/").status_code == 302
    client.logout()

    response = client.get(API_URL, HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert response.status_code == 401
    assert PersonalToken.objects.get().revoked_at is not None
    assert AuditEvent.objects.filter(action="api_token.revoked", actor=scientist).exists()


def test_an_expired_token_gets_401(client, scientist):
    token, secret = issue_token(scientist, name="cli", days=1)
    past = timezone.now() - timedelta(days=2)
    PersonalToken.objects.filter(pk=token.pk).update(created_at=past, expires_at=past + timedelta(days=1))

    assert client.get(API_URL, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_a_wrong_secret_with_a_valid_prefix_gets_401(client, scientist):
    token, _ = issue_token(scientist, name="cli", days=1)

    response = client.get(API_URL, HTTP_AUTHORIZATION=f"Bearer enc_{token.prefix}_guessed")

    assert response.status_code == 401


def test_revoking_someone_elses_token_is_a_404_and_audited(client, scientist, other_scientist):
    token, _ = issue_token(other_scientist, name="theirs", days=1)
    client.force_login(scientist)

    response = client.post(f"/profile/tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    assert PersonalToken.objects.get().revoked_at is None
    assert AuditEvent.objects.filter(action="access.denied", actor=scientist, outcome="denied").exists()


def test_revoking_needs_a_post(client, scientist):
    token, _ = issue_token(scientist, name="cli", days=1)
    client.force_login(scientist)

    assert client.get(f"/profile/tokens/{token.pk}/revoke/").status_code == 405
