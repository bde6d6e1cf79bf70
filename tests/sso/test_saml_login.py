"""SAML sign-in end to end against the pysaml2 stand-in: a signed assertion signs a person in,
bound to the IdP's identity, with roles from their groups; every refused assertion is refused
with a page and audited as ``auth.sso_failed`` naming the check that failed."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from core.roles import Role, roles_of
from portal.models import Identity
from tests.fixtures.saml import (
    OTHER_SP,
    acs_path,
    decoded,
    issued_response,
    post_to_acs,
    saml_login,
    tamper_groups,
)

pytestmark = [pytest.mark.sso, pytest.mark.django_db]


def refusals() -> list[dict]:
    return [e.details for e in AuditEvent.objects.filter(action="auth.sso_failed").order_by("seq")]


def test_a_person_signs_in_with_a_signed_assertion_and_gets_the_role_of_their_group(client, saml_idp):
    response, _ = saml_login(client, "sara.saml")

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = get_user_model().objects.get(username="sara.saml")
    assert roles_of(user) == {Role.DATA_SCIENTIST}
    assert user.display_name == "Sara Saml"
    assert user.email == "sara.saml@bank.example"
    identity = Identity.objects.get(user=user)
    assert (identity.provider, identity.issuer) == ("saml", saml_idp.idp.entity_id)
    assert identity.subject == "saml-7f3a1c02-sara"
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="identity.linked", target_id=str(user.pk)).exists()
    assert refusals() == []


def test_the_groups_attribute_and_role_mapping_are_per_provider_variables(client, start_saml):
    start_saml(ROLE_MAPPING="staff=auditor")

    saml_login(client, "nils.saml")

    assert roles_of(get_user_model().objects.get(username="nils.saml")) == {Role.AUDITOR}


def test_a_person_in_no_mapped_group_is_shown_no_access_and_it_is_audited(client, saml_idp):
    response, _ = saml_login(client, "nils.saml")

    assert response.status_code == 403
    event = AuditEvent.objects.get(action="auth.no_access")
    assert event.details["idp_groups"] == ["staff"]
    assert event.details["provider"] == "saml"


def test_roles_are_reapplied_from_the_groups_at_every_sign_in(client, saml_idp):
    saml_login(client, "sara.saml")
    client.logout()
    saml_idp.idp.users["sara.saml"].groups = ["enclave-data-scientists", "enclave-auditors"]

    saml_login(client, "sara.saml")

    assert roles_of(get_user_model().objects.get(username="sara.saml")) == {Role.DATA_SCIENTIST, Role.AUDITOR}
    assert Identity.objects.count() == 1


def _assert_refused(response, check: str, reason_part: str) -> dict:
    assert response.status_code == 401, response.status_code  # allauth's "sign-in failed" page
    assert b"Third-Party Login Failure" in response.content
    assert not response.wsgi_request.user.is_authenticated
    assert not get_user_model().objects.filter(username="sara.saml").exists()
    [details] = refusals()
    assert details["saml_check"] == check, details
    assert reason_part.casefold() in details["reason"].casefold(), details
    assert details["provider"] == "saml"
    assert details["saml_organization"] == "corp"
    return details


def test_an_unsigned_assertion_is_refused_and_audited(client, saml_idp):
    fields = issued_response(client, saml_idp, "sara.saml", sign_assertion=False)
    assert b"Signature" not in decoded(fields["SAMLResponse"])

    response = post_to_acs(client, acs_path(), fields)

    _assert_refused(response, "unsigned", "not signed")


def test_a_tampered_assertion_is_refused_and_audited(client, saml_idp):
    fields = issued_response(client, saml_idp, "sara.saml")
    fields["SAMLResponse"] = tamper_groups(fields["SAMLResponse"], "enclave-catalog-admins")

    response = post_to_acs(client, acs_path(), fields)

    _assert_refused(response, "signature_invalid", "signature")


def test_an_expired_assertion_is_refused_and_audited(client, saml_idp):
    fields = issued_response(client, saml_idp, "sara.saml")

    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)
    with time_machine.travel(later, tick=True):  # presented 11 minutes later: 5 min lifetime + 5 min drift
        response = post_to_acs(client, acs_path(), fields)

    _assert_refused(response, "expired", "timestamp")


def test_an_assertion_for_another_service_provider_is_refused_and_audited(client, saml_idp):
    fields = issued_response(client, saml_idp, "sara.saml", sp_entity_id=OTHER_SP)
    assert OTHER_SP.encode() in decoded(fields["SAMLResponse"])

    response = post_to_acs(client, acs_path(), fields)

    _assert_refused(response, "wrong_audience", "audience")


def test_a_replayed_assertion_is_refused_and_audited(client, saml_idp):
    first, fields = saml_login(client, "sara.saml")
    assert first.status_code == 302
    assert first["Location"] == "/"
    client.logout()

    replay = post_to_acs(client, acs_path(), fields)

    assert replay.status_code == 401
    assert not replay.wsgi_request.user.is_authenticated
    [details] = refusals()
    assert details["saml_check"] == "replayed"
    assert "replay" in details["reason"]
    assert AuditEvent.objects.filter(action="auth.login").count() == 1


def test_a_replay_in_another_browser_is_refused_too(client, saml_idp):
    from django.test import Client

    _, fields = saml_login(client, "sara.saml")
    attacker = Client()
    attacker.post("/accounts/saml/corp/login/", HTTP_HOST="enclave.bank.example")  # a state of their own

    replay = post_to_acs(attacker, acs_path(), fields)

    assert not replay.wsgi_request.user.is_authenticated
    assert refusals()[-1]["saml_check"] == "replayed"


def test_an_unsolicited_response_is_refused_and_audited(client, saml_idp):
    fields = issued_response(client, saml_idp, "sara.saml", in_response_to=None)

    response = post_to_acs(client, acs_path(), fields)

    assert not response.wsgi_request.user.is_authenticated
    [details] = refusals()
    assert details["saml_check"] == "unsolicited"
