"""An administrator links an identity to an existing user, or unlinks one, in the admin;
both are audited. A login never does this on its own."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from portal.models import Identity
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db: Any) -> Any:
    user: Any = UserFactory(username="root.admin", is_staff=True, is_superuser=True)
    return user


def test_an_administrator_links_an_identity_to_a_user_and_it_is_audited(client, superuser):
    person: Any = UserFactory(username="pat")
    client.force_login(superuser)

    response = client.post(
        "/admin/portal/identity/add/",
        {"user": person.pk, "provider": "entra", "issuer": "https://login.example.com/t/v2.0", "subject": "oid-pat"},
    )

    assert response.status_code == 302
    identity = Identity.objects.get()
    assert (identity.user_id, identity.provider, identity.subject) == (person.pk, "entra", "oid-pat")
    event = AuditEvent.objects.get(action="identity.linked")
    assert event.actor_label == "root.admin"
    assert event.details["method"] == "admin"
    assert event.target_id == str(person.pk)


def test_an_identity_bound_to_someone_else_is_not_relinked(client, superuser):
    owner: Any = UserFactory(username="owner")
    other: Any = UserFactory(username="other")
    Identity.objects.create(user=owner, provider="entra", issuer="i", subject="s")
    client.force_login(superuser)

    client.post("/admin/portal/identity/add/", {"user": other.pk, "provider": "entra", "issuer": "i", "subject": "s"})

    assert Identity.objects.get().user_id == owner.pk
    assert not AuditEvent.objects.filter(action="identity.linked").exists()


def test_an_administrator_unlinks_an_identity_and_it_is_audited(client, superuser):
    person: Any = UserFactory(username="pat")
    identity = Identity.objects.create(user=person, provider="okta", issuer="i", subject="00u1")
    client.force_login(superuser)

    client.post(
        "/admin/portal/identity/",
        {"action": "unlink_selected", "_selected_action": [identity.pk]},
    )

    assert not Identity.objects.exists()
    event = AuditEvent.objects.get(action="identity.unlinked")
    assert event.details["subject"] == "00u1"
    assert event.actor_label == "root.admin"
