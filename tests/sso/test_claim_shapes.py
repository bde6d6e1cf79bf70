"""Claim sets shaped like Entra ID's and Okta's, asserted by the third-party OP and replayed
through the whole login pipeline with the configuration docs/sso.md gives for each."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from core.roles import Role, roles_of
from devtools.pyop_op.server import OPUser
from portal.identity import IDP_MFA_SESSION_KEY
from portal.identity.selectors import entra_object_id_for
from portal.identity.services import LINK_ADMIN, link_identity
from tests.factories import UserFactory
from tests.fixtures.third_party_op import op_login, standard_users

pytestmark = [pytest.mark.sso, pytest.mark.django_db]

User = get_user_model()
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
EVE_OID = "d2f8a5e0-3c1b-4f7e-9a6d-5b4c3e2f1a00"
SCIENTISTS_GROUP_ID = "4e1a7c2b-9d3f-4b6a-8e5c-1f2a3b4c5d6e"
APPROVERS_GROUP_ID = "b7c6d5e4-f3a2-4b1c-8d9e-0f1a2b3c4d5e"
# docs/sso.md, "Entra ID": the subject is oid, groups are object ids mapped to roles, no groups scope.
ENTRA_ENV = {
    "NAME": "Entra ID (shape)",
    "SCOPES": "",
    "SUBJECT_CLAIM": "oid",
    "ROLE_MAPPING": f"{SCIENTISTS_GROUP_ID}=data_scientist,{APPROVERS_GROUP_ID}=approver",
    "MFA_AMR": "mfa",
}


def entra_user(**id_token: Any) -> OPUser:
    """Entra's v2.0 ID token: a pairwise ``sub``, the tenant-wide ``oid``, ``tid``, group object ids."""
    return OPUser(
        {"sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "name": "Eve Entra",
         "preferred_username": "eve@bank.example", "email": "eve@bank.example"},
        {"oid": EVE_OID, "tid": TENANT, "ver": "2.0", "amr": ["pwd", "mfa"], "preferred_username": "eve@bank.example",
         "groups": [SCIENTISTS_GROUP_ID, "11111111-0000-0000-0000-000000000000"], **id_token},
    )  # fmt: skip


@pytest.fixture
def entra(start_third_party_op: Any, settings: Any) -> Any:
    settings.ENCLAVE_ENTRA_PROVIDER = "entra"
    return start_third_party_op("entra", users={"eve": entra_user()}, **ENTRA_ENV)


def test_an_entra_user_signs_in_with_roles_from_group_object_ids(client, entra):
    response = op_login(client, entra, "eve", provider_id="entra")

    assert response.status_code == 302
    user = User.objects.get(username="eve@bank.example")
    assert roles_of(user) == {Role.DATA_SCIENTIST}
    identity = user.identities.get()
    assert (identity.provider, identity.subject) == ("entra", EVE_OID)
    assert identity.claims["tid"] == TENANT
    assert user.entra_object_id == EVE_OID
    assert entra_object_id_for(user) == EVE_OID
    assert client.session[IDP_MFA_SESSION_KEY] is True


def test_an_entra_groups_overage_is_refused_with_an_explanation_and_audited(client, entra):
    overage = entra_user(
        _claim_names={"groups": "src1"},
        _claim_sources={"src1": {"endpoint": f"https://graph.windows.net/{TENANT}/users/{EVE_OID}/getMemberObjects"}},
    )
    del overage.id_token["groups"]
    entra.set_user("eve", overage)

    response = op_login(client, entra, "eve", provider_id="entra")

    assert response.status_code == 403
    assert b'data-reason="groups_overage"' in response.content
    assert b"too many groups" in response.content
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="auth.groups_overage")
    assert event.outcome == "denied"
    assert event.details["marker"] == "_claim_names"
    assert event.details["provider"] == "entra"
    assert not AuditEvent.objects.filter(action="auth.no_access").exists()


def test_an_entra_group_unknown_to_the_mapping_gives_no_access(client, entra):
    entra.set_user("eve", entra_user(groups=["99999999-0000-0000-0000-000000000000"]))

    response = op_login(client, entra, "eve", provider_id="entra")

    assert response.status_code == 403
    assert b'data-testid="no-access"' in response.content


def test_an_okta_user_without_oid_signs_in_by_sub_with_groups_from_the_groups_scope(client, third_party_op):
    response = op_login(client, third_party_op, "sam")

    assert response.status_code == 302
    user = User.objects.get(username="sam.okta")
    assert roles_of(user) == {Role.DATA_SCIENTIST}
    assert user.identities.get().subject == "00u1sam"
    assert user.entra_object_id == ""


def test_the_azure_object_id_comes_from_the_entra_identity_not_from_the_idp_used_last(
    client, entra, start_third_party_op, settings
):
    user: Any = UserFactory(username="eve", entra_object_id="")
    admin: Any = UserFactory(username="cara.admin", roles=["catalog_admin"])
    okta_user = standard_users()["sam"]
    okta_user.id_token["oid"] = "00000000-aaaa-4bbb-8ccc-000000000000"  # an oid that is not Entra's
    okta = start_third_party_op("okta", users={"sam": okta_user})
    link_identity(user=user, provider="entra", issuer=entra.issuer, subject=EVE_OID, method=LINK_ADMIN, actor=admin)
    link_identity(user=user, provider="okta", issuer=okta.issuer, subject="00u1sam", method=LINK_ADMIN, actor=admin)

    op_login(client, okta, "sam", provider_id="okta")

    assert client.session["_auth_user_id"] == str(user.pk)
    user.refresh_from_db()
    assert user.entra_object_id == ""
    assert entra_object_id_for(user) == EVE_OID
