"""Migration 0002 keeps the bindings that existed before identities were recorded."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from allauth.socialaccount.models import SocialAccount
from django.apps import apps

from portal.models import Identity
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

backfill = importlib.import_module("portal.migrations.0002_identity").backfill_from_social_accounts


def test_each_social_account_becomes_an_identity_keyed_by_its_issuer_and_uid(settings):
    settings.ENCLAVE_SSO_PROVIDERS = {}
    user: Any = UserFactory(username="pat")
    SocialAccount.objects.create(
        user=user, provider="okta", uid="00u1",
        extra_data={"id_token": {"iss": "https://okta.example/oauth2/default", "sub": "00u1", "nonce": "n"}},
    )  # fmt: skip

    backfill(apps, None)

    identity = Identity.objects.get()
    assert (identity.provider, identity.issuer, identity.subject, identity.user_id) == (
        "okta", "https://okta.example/oauth2/default", "00u1", user.pk,
    )  # fmt: skip
    assert "nonce" not in identity.claims


def test_a_provider_configured_with_oid_is_keyed_by_the_stored_oid(settings):
    settings.ENCLAVE_SSO_PROVIDERS = {"entra": {"subject_claim": "oid"}}
    user: Any = UserFactory(username="pat")
    SocialAccount.objects.create(
        user=user, provider="entra", uid="pairwise-sub",
        extra_data={"id_token": {"iss": "https://login.example.com/t/v2.0", "sub": "pairwise-sub", "oid": "oid-1"}},
    )  # fmt: skip

    backfill(apps, None)
    backfill(apps, None)  # idempotent

    assert list(Identity.objects.values_list("subject", flat=True)) == ["oid-1"]
