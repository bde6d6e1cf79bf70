"""Reading assertions: nested group claims, group objects, mapping by id or name, Entra's
overage markers, the MFA claims a provider trusts, and the claims an identity keeps."""

from __future__ import annotations

import pytest

from core.roles import Role
from portal.identity.claims import (
    claim_at,
    claims_snapshot,
    groups_from,
    groups_overage,
    idp_asserted_mfa,
    roles_for_groups,
)
from portal.identity.config import ProviderConfig


def config(**overrides: object) -> ProviderConfig:
    values: dict[str, object] = {
        "provider": "p", "subject_claim": "sub", "groups_claim": "groups",
        "role_mapping": {"enclave-data-scientists": "data_scientist", "4e1a7c2b-0000": "approver"},
        "mfa_amr": frozenset({"mfa"}), "mfa_acr": frozenset(), "groups_overage": "refuse",
    }  # fmt: skip
    values.update(overrides)
    return ProviderConfig(**values)  # type: ignore[arg-type]


def test_a_nested_claim_is_read_at_its_dotted_path():
    assert claim_at({"realm_access": {"roles": ["a"]}}, "realm_access.roles") == ["a"]
    assert claim_at({"realm_access": {}}, "realm_access.roles") is None


def test_a_claim_named_with_dots_wins_over_descending():
    assert claim_at({"http://schemas.example/groups": ["x"]}, "http://schemas.example/groups") == ["x"]


def test_group_objects_contribute_their_ids_and_names():
    claims = {"groups": [{"id": "g-1", "name": "Enclave Scientists"}, {"value": "g-2", "display": "Other"}, "g-3"]}

    assert groups_from(claims, config()) == ["g-1", "Enclave Scientists", "g-2", "Other", "g-3"]


def test_a_single_string_group_is_a_list_of_one():
    assert groups_from({"groups": "enclave-data-scientists"}, config()) == ["enclave-data-scientists"]


def test_groups_map_to_roles_by_object_id_or_by_name_without_case():
    assert roles_for_groups(["4e1a7c2b-0000"], config()) == {Role.APPROVER}
    assert roles_for_groups(["Enclave-Data-Scientists"], config()) == {Role.DATA_SCIENTIST}
    assert roles_for_groups(["unmapped"], config()) == set()


def test_a_mapping_to_an_unknown_role_grants_nothing():
    assert roles_for_groups(["g"], config(role_mapping={"g": "superuser"})) == set()


@pytest.mark.parametrize(
    ("claims", "marker"),
    [
        (
            {"_claim_names": {"groups": "src1"}, "_claim_sources": {"src1": {"endpoint": "https://graph"}}},
            "_claim_names",
        ),
        ({"hasgroups": True}, "hasgroups"),
        ({"groups:src1": {"endpoint": "https://graph"}}, "groups:src"),
        ({"groups": ["a"]}, ""),
    ],
)
def test_entra_groups_overage_markers_are_detected(claims, marker):
    assert groups_overage(claims, config()) == marker


def test_only_the_amr_values_the_provider_trusts_count_as_mfa():
    assert idp_asserted_mfa({"amr": ["pwd", "mfa"]}, config())
    assert not idp_asserted_mfa({"amr": ["pwd", "otp"]}, config())
    assert not idp_asserted_mfa({"amr": ["mfa"]}, config(mfa_amr=frozenset()))


def test_a_trusted_acr_counts_as_mfa_and_an_untrusted_one_does_not():
    trusted = config(mfa_acr=frozenset({"urn:okta:loa:2fa:any"}))

    assert idp_asserted_mfa({"acr": "urn:okta:loa:2fa:any"}, trusted)
    assert not idp_asserted_mfa({"acr": "urn:okta:loa:1fa:pwd"}, trusted)


def test_the_claims_snapshot_drops_nonces_hashes_and_tokens():
    snapshot = claims_snapshot({"sub": "s", "nonce": "n", "at_hash": "h", "id_token": "t", "groups": ["g"]})

    assert snapshot == {"sub": "s", "groups": ["g"]}
