"""Provisioning as Entra ID and Okta send it, replayed request by request.

The bodies follow the vendors' public documentation: Microsoft's "Tutorial: Develop and plan
provisioning for a SCIM endpoint in Microsoft Entra ID" (request/response examples: create
user, filter by userName, PATCH ``Replace`` with capitalised ops and ``emails[type eq "work"]``
paths, disable with ``active`` false, group create with Microsoft's extra schema URN, members
added and removed with ``value`` lists, DELETE) and Okta's "SCIM 2.0 protocol reference"
(filter with startIndex/count, create with ``groups: []`` and a password, deactivate and
reactivate with a path-less ``replace``, group rename carrying ``id``, member removal by a
``members[value eq "…"]`` path). Okta never deletes users; Entra deletes after its soft delete.
"""

from __future__ import annotations

from typing import Any

from audit.models import AuditEvent
from core.roles import Role, roles_of
from portal.models import Identity, User
from tests.approvals.conftest import make_user
from tests.scim.conftest import ENTRA_APPROVERS, ENTRA_ISSUER, ENTRA_SCIENTISTS, OKTA_ISSUER

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
SCIENTISTS_NAME = "enclave-data-scientists"
OID = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"


def _user(username: str) -> Any:
    return User.objects.get(username=username)


def _roles(user: Any) -> set[str]:
    return {r.value for r in roles_of(User.objects.get(pk=user.pk))}


def entra_create_user(scim: Any, *, oid: str = OID, user_name: str = "dana.scientist@bank.example") -> Any:
    return scim.call(
        "POST",
        "Users",
        {
            "schemas": [USER, ENTERPRISE],
            "externalId": oid,
            "userName": user_name,
            "active": True,
            "emails": [{"primary": True, "type": "work", "value": user_name}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "Dana Scientist", "familyName": "Scientist", "givenName": "Dana"},
            "roles": [],
            ENTERPRISE: {"costCenter": "CC-4242", "department": "Risk"},
        },
        expect=201,
    ).json()


def entra_create_group(scim: Any, object_id: str, name: str) -> Any:
    return scim.call(
        "POST",
        "Groups",
        {
            "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "externalId": object_id,
            "displayName": name,
            "meta": {"resourceType": "Group"},
        },
        expect=201,
    ).json()


def entra_members(scim: Any, group_id: str, op: str, user_id: str) -> None:
    body = {
        "schemas": [PATCH],
        "Operations": [{"op": op, "path": "members", "value": [{"$ref": None, "value": user_id}]}],
    }
    scim.call("PATCH", f"Groups/{group_id}", body, expect=200)


def test_entra_sequence_provisions_moves_deactivates_reactivates_and_deletes(scim: Any) -> None:
    # The provisioning service first asks whether the user exists.
    found = scim.call("GET", 'Users?filter=userName eq "dana.scientist@bank.example"', expect=200).json()
    assert found["totalResults"] == 0
    assert found["Resources"] == []

    created = entra_create_user(scim)
    user = _user("dana.scientist@bank.example")
    assert Identity.objects.filter(provider="entra", issuer=ENTRA_ISSUER, subject=OID, user=user).exists()
    assert (user.email, user.first_name, user.cost_centre, user.entra_object_id) == (
        "dana.scientist@bank.example", "Dana", "CC-4242", OID,
    )  # fmt: skip
    assert _roles(user) == set()

    # Groups arrive, then their members (the mover path: roles at once).
    scientists = entra_create_group(scim, ENTRA_SCIENTISTS, "Enclave Data Scientists")
    approvers = entra_create_group(scim, ENTRA_APPROVERS, "Enclave Approvers")
    looked_up = scim.call(
        "GET", 'Groups?excludedAttributes=members&filter=displayName eq "Enclave Approvers"', expect=200
    ).json()
    assert [g["id"] for g in looked_up["Resources"]] == [approvers["id"]]
    entra_members(scim, scientists["id"], "Add", created["id"])
    assert _roles(user) == {"data_scientist"}
    entra_members(scim, approvers["id"], "Add", created["id"])
    entra_members(scim, scientists["id"], "Remove", created["id"])
    assert _roles(user) == {"approver"}

    # Attribute updates as Entra sends them.
    scim.call(
        "PATCH",
        f"Users/{created['id']}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "dana.s@bank.example"},
                {"op": "Replace", "path": "name.familyName", "value": "Smith"},
            ],
        },
        expect=200,
    )
    user.refresh_from_db()
    assert (user.email, user.last_name) == ("dana.s@bank.example", "Smith")

    # Disable, enable, delete.
    disable = {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": False}]}
    assert scim.call("PATCH", f"Users/{created['id']}", disable, expect=200).json()["active"] is False
    user.refresh_from_db()
    assert not user.is_active
    enable = {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "True"}]}
    assert scim.call("PATCH", f"Users/{created['id']}", enable, expect=200).json()["active"] is True
    user.refresh_from_db()
    assert user.is_active
    assert _roles(user) == {"approver"}

    scim.call("DELETE", f"Users/{created['id']}", expect=204)
    user.refresh_from_db()
    assert not user.is_active
    assert scim.call("GET", f"Users/{created['id']}").status_code == 404
    assert _roles(user) == set()
    assert {r.value for r in Role if user.groups.filter(name=r.value).exists()} == set()
    actors = set(
        AuditEvent.objects.filter(target_type="portal.user", target_id=str(user.pk)).values_list(
            "actor_label", flat=True
        )
    )
    assert actors == {"scim:entra"}


def test_okta_sequence_provisions_moves_deactivates_and_reactivates(okta: Any) -> None:
    found = okta.call("GET", 'Users?filter=userName eq "test.user@okta.local"&startIndex=1&count=100', expect=200)
    assert found.json()["totalResults"] == 0
    created = okta.call(
        "POST",
        "Users",
        {
            "schemas": [USER],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": True,
        },
        expect=201,
    ).json()
    assert "password" not in created
    user = _user("test.user@okta.local")
    assert (
        Identity.objects.filter(provider="okta", issuer=OKTA_ISSUER, subject="00ujl29u0le5T6Aj10h7").get().user == user
    )
    assert user.entra_object_id == ""  # an Okta id is not an Entra object id

    group = okta.call(
        "POST", "Groups", {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []}, expect=201
    ).json()
    okta.call(
        "PATCH", f"Groups/{group['id']}",
        {"schemas": [PATCH],
         "Operations": [{"op": "replace", "value": {"id": group["id"], "displayName": SCIENTISTS_NAME}}]},
        expect=200,
    )  # fmt: skip
    okta.call(
        "PATCH", f"Groups/{group['id']}",
        {"schemas": [PATCH], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": created["id"], "display": "test.user@okta.local"}]}
        ]},
        expect=200,
    )  # fmt: skip
    assert _roles(user) == {"data_scientist"}

    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    okta.call("PATCH", f"Users/{created['id']}", deactivate, expect=200)
    user.refresh_from_db()
    assert not user.is_active
    reactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": True}}]}
    okta.call("PATCH", f"Users/{created['id']}", reactivate, expect=200)
    user.refresh_from_db()
    assert user.is_active

    okta.call(
        "PATCH", f"Groups/{group['id']}",
        {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{created["id"]}"]'}]},
        expect=200,
    )  # fmt: skip
    assert _roles(user) == set()
    okta.call("DELETE", f"Groups/{group['id']}", expect=204)


def test_a_scim_user_joins_the_account_of_the_same_idp_object_id_never_one_with_the_same_email(scim: Any) -> None:
    signed_in = make_user(username="dana", email="dana.scientist@bank.example")
    Identity.objects.create(provider="entra", issuer=ENTRA_ISSUER, subject=OID, user=signed_in)
    same_email = make_user(username="imposter", email="other@bank.example")

    entra_create_user(scim)
    assert User.objects.filter(scim_records__external_id=OID).get() == signed_in

    other = entra_create_user(scim, oid="9c1d0000-0000-4000-8000-00000000abcd", user_name="other@bank.example")
    created = User.objects.get(scim_records__pk=other["id"])
    assert created != same_email
    assert created.username != "imposter"


def test_a_user_name_taken_in_the_connection_is_a_scim_uniqueness_error(scim: Any) -> None:
    entra_create_user(scim)
    response = scim.call(
        "POST", "Users",
        {"schemas": [USER], "externalId": "another-oid", "userName": "DANA.scientist@bank.example"},
    )  # fmt: skip
    assert response.status_code == 409
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["scimType"] == "uniqueness"
    assert body["status"] == "409"


def test_external_id_is_immutable_once_set(scim: Any) -> None:
    created = entra_create_user(scim)
    response = scim.call(
        "PATCH", f"Users/{created['id']}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "externalId", "value": "someone-else"}]},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["scimType"] == "mutability"


def test_an_unsupported_filter_is_an_invalid_filter_error(scim: Any) -> None:
    response = scim.call("GET", 'Users?filter=title eq "x"')
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"
    broken = scim.call("GET", 'Users?filter=userName eq "unterminated')
    assert broken.status_code == 400
    assert broken.json()["scimType"] == "invalidFilter"
