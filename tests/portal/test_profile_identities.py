"""The profile lists the person's sign-in identities and offers to link another configured
provider — only to someone signed in through a linked identity."""

from __future__ import annotations

from typing import Any

import pytest

from portal.models import Identity
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_providers(settings: Any) -> None:
    def app(provider_id: str, name: str) -> dict[str, Any]:
        return {
            "provider_id": provider_id,
            "name": name,
            "client_id": "c",
            "settings": {"server_url": "https://127.0.0.1:9"},
        }

    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {"APPS": [app("entra", "Entra ID"), app("okta", "Okta")]},
        "saml": {"APPS": []},
    }


def test_the_profile_lists_identities_and_offers_to_link_the_other_provider(client, two_providers):
    user: Any = UserFactory(username="pat", roles=["data_scientist"])
    Identity.objects.create(user=user, provider="entra", issuer="https://login.example.com/t/v2.0", subject="oid-pat")
    client.force_login(user)

    page = client.get("/profile/").content.decode()

    assert "oid-pat" in page
    assert 'data-testid="link-okta"' in page
    assert 'data-testid="link-entra"' not in page
    assert 'name="process" value="connect"' in page


def test_an_account_without_a_linked_identity_is_offered_no_link(client, two_providers):
    user: Any = UserFactory(username="pat", roles=["data_scientist"])
    client.force_login(user)

    page = client.get("/profile/").content.decode()

    assert 'data-testid="link-' not in page
