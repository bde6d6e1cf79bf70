"""Identities are bound to the IdP that asserted them: a second IdP cannot sign in as a
user known from the first by asserting their object id or username; a user without ``oid``
is recognised by ``sub``; equal subjects at two providers stay two people; linking a second
provider is an explicit step by the signed-in user."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from devtools.pyop_op.server import OPUser
from portal.models import Identity
from tests.fixtures.third_party_op import op_login, standard_users

pytestmark = [pytest.mark.sso, pytest.mark.django_db]

User = get_user_model()
SAM_OID = "8c1f4a52-3b7e-4d1a-9f4e-2a6b1c0d9e11"  # the demo IdP (Entra-like, subject = oid) asserts it for sam


@pytest.fixture
def entra_and_okta(oidc_idp: Any, start_third_party_op: Any) -> Any:
    """The demo IdP as provider ``demo`` (Entra-like: ``oid`` is its subject) and pyop as ``okta``."""
    mallory = OPUser(
        {"sub": "00u9mallory", "preferred_username": "mallory.okta", "name": "Mallory", "email": "m@evil.example",
         "groups": ["enclave-data-scientists"]},
        {"oid": SAM_OID, "amr": ["pwd"]},
    )  # fmt: skip
    return start_third_party_op("okta", users={**standard_users(), "mallory": mallory})


def test_a_second_idp_asserting_the_oid_of_a_user_known_from_the_first_is_refused_and_audited(
    client, sso_login, entra_and_okta
):
    sso_login(client, "sam.scientist")
    client.post("/accounts/logout/")
    sam = User.objects.get(username="sam.scientist")

    response = op_login(client, entra_and_okta, "mallory")

    assert response.status_code == 403
    assert b'data-reason="identity_conflict"' in response.content
    assert "_auth_user_id" not in client.session
    sam.refresh_from_db()
    assert (sam.display_name, sam.email) == ("Sam Scientist", "sam.scientist@bank.example")
    assert not User.objects.filter(username="mallory.okta").exists()
    event = AuditEvent.objects.get(action="auth.identity_conflict")
    assert event.outcome == "denied"
    assert event.target_id == str(sam.pk)
    assert event.details["provider"] == "okta"
    assert event.details["subject"] == "00u9mallory"
    assert "'oid'" in event.details["reason"]
    assert AuditEvent.objects.filter(action="auth.login").count() == 1  # sam's own, earlier


def test_a_second_idp_asserting_the_username_of_a_user_bound_elsewhere_is_refused(client, sso_login, entra_and_okta):
    sso_login(client, "sam.scientist")
    client.post("/accounts/logout/")
    impostor = standard_users()["sam"]
    impostor.userinfo["preferred_username"] = "sam.scientist"
    entra_and_okta.set_user("sam", impostor)

    response = op_login(client, entra_and_okta, "sam")

    assert response.status_code == 403
    assert "username" in AuditEvent.objects.get(action="auth.identity_conflict").details["reason"]
    assert User.objects.count() == 1


def test_a_user_without_oid_is_recognised_by_sub_at_every_sign_in(client, third_party_op):
    op_login(client, third_party_op, "sam")
    client.post("/accounts/logout/")
    renamed = standard_users()["sam"]
    renamed.userinfo.update(preferred_username="sam.renamed", email="sam.new@bank.example", name="Sam Renamed")
    third_party_op.set_user("sam", renamed)

    op_login(client, third_party_op, "sam")

    user = User.objects.get()
    assert user.username == "sam.okta"  # one account, recognised by (provider, issuer, sub)
    assert (user.email, user.display_name) == ("sam.new@bank.example", "Sam Renamed")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert Identity.objects.get().last_login_at is not None


def test_two_providers_asserting_the_same_subject_are_two_people(client, start_third_party_op):
    shared = "00u-shared-subject"
    okta = start_third_party_op(
        "okta",
        users={
            "a": OPUser({"sub": shared, "preferred_username": "ann.okta", "groups": ["enclave-data-scientists"]}, {})
        },
    )
    keycloak = start_third_party_op("keycloak", users={"b": OPUser(
        {"sub": shared, "preferred_username": "bob.keycloak", "groups": ["enclave-auditors"]}, {})})  # fmt: skip

    op_login(client, okta, "a", provider_id="okta")
    client.post("/accounts/logout/")
    op_login(client, keycloak, "b", provider_id="keycloak")

    ann, bob = User.objects.get(username="ann.okta"), User.objects.get(username="bob.keycloak")
    assert ann.pk != bob.pk
    assert client.session["_auth_user_id"] == str(bob.pk)
    assert set(Identity.objects.values_list("provider", "subject", "user__username")) == {
        ("okta", shared, "ann.okta"),
        ("keycloak", shared, "bob.keycloak"),
    }


def test_a_signed_in_user_links_a_second_provider_explicitly_and_it_is_audited(client, sso_login, entra_and_okta):
    sso_login(client, "sam.scientist")
    sam = User.objects.get(username="sam.scientist")

    start = client.post("/accounts/oidc/okta/login/", {"process": "connect"})
    assert start.status_code == 302
    from urllib.parse import urlsplit

    import requests

    from tests.fixtures.third_party_op import callback_path

    query = urlsplit(start["Location"]).query
    back = requests.post(
        f"{entra_and_okta.issuer}/authorize", data={"request": query, "user_id": "sam"}, allow_redirects=False,
        verify=entra_and_okta.ca_path, timeout=5,
    )  # fmt: skip
    client.get(back.headers["Location"].removeprefix("http://testserver"))
    assert callback_path("okta") in back.headers["Location"]
    client.post("/accounts/logout/")

    op_login(client, entra_and_okta, "sam")  # now signs in as sam through okta

    assert client.session["_auth_user_id"] == str(sam.pk)
    assert set(sam.identities.values_list("provider", flat=True)) == {"demo", "okta"}
    linked = AuditEvent.objects.filter(action="identity.linked", details__method="signed_in").get()
    assert linked.actor_label == "sam.scientist"
    assert linked.details["provider"] == "okta"
