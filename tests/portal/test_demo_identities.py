"""The demo seed links its users to their demo-IdP identities explicitly (audited), the way an
administrator or SCIM would; a login never links them on a matching claim."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from portal.demo import DEMO_USERS, seed_users
from portal.models import Identity

pytestmark = pytest.mark.django_db

ISSUER = "http://127.0.0.1:8001"


@pytest.fixture
def demo_provider(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {"APPS": [{"provider_id": "demo", "client_id": "c", "settings": {"server_url": ISSUER}}]},
        "saml": {"APPS": []},
    }
    settings.ENCLAVE_SSO_PROVIDERS = {"demo": {"subject_claim": "oid"}}


def test_seeding_links_every_demo_user_to_their_demo_idp_identity(demo_provider):
    users = seed_users()

    for demo in DEMO_USERS:
        identity = Identity.objects.get(provider="demo", subject=demo.entra_object_id)
        assert (identity.issuer, identity.user_id) == (ISSUER, users[demo.username].pk)
    assert AuditEvent.objects.filter(action="identity.linked", details__method="seed").count() == len(DEMO_USERS)


def test_seeding_twice_links_once(demo_provider):
    seed_users()
    seed_users()

    assert Identity.objects.count() == len(DEMO_USERS)
    assert AuditEvent.objects.filter(action="identity.linked").count() == len(DEMO_USERS)


def test_without_a_demo_provider_nothing_is_linked(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": []}, "saml": {"APPS": []}}

    seed_users()

    assert not Identity.objects.exists()
