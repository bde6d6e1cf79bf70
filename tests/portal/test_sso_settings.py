"""ENCLAVE_OIDC_<ID>_* variables become allauth apps and per-provider identity settings."""

from __future__ import annotations

import pytest

from portal.settings import _oidc_providers


@pytest.fixture
def keycloak_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("ENCLAVE_OIDC_PROVIDERS", "keycloak")
    monkeypatch.setenv("ENCLAVE_OIDC_KEYCLOAK_ISSUER", "https://sso.bank.example/realms/enclave")
    monkeypatch.setenv("ENCLAVE_OIDC_KEYCLOAK_CLIENT_ID", "enclave")
    return monkeypatch


def test_extra_scopes_are_added_to_openid_profile_email(keycloak_env):
    keycloak_env.setenv("ENCLAVE_OIDC_KEYCLOAK_SCOPES", "roles,groups")

    apps, _ = _oidc_providers()

    assert apps[0]["settings"]["scope"] == ["openid", "profile", "email", "roles", "groups"]  # type: ignore[index]


def test_identity_settings_default_to_sub_and_the_global_mapping(keycloak_env, settings):
    _, identity = _oidc_providers()

    assert identity["keycloak"]["subject_claim"] == "sub"
    assert identity["keycloak"]["groups_claim"] == settings.ENCLAVE_ROLE_GROUP_CLAIM
    assert identity["keycloak"]["role_mapping"] == settings.ENCLAVE_ROLE_MAPPING


def test_every_identity_setting_is_read_from_the_providers_variables(keycloak_env):
    keycloak_env.setenv("ENCLAVE_OIDC_KEYCLOAK_SUBJECT_CLAIM", "oid")
    keycloak_env.setenv("ENCLAVE_OIDC_KEYCLOAK_GROUPS_CLAIM", "realm_access.roles")
    keycloak_env.setenv("ENCLAVE_OIDC_KEYCLOAK_ROLE_MAPPING", "enclave-auditors=auditor")
    keycloak_env.setenv("ENCLAVE_OIDC_KEYCLOAK_MFA_AMR", "otp")
    keycloak_env.setenv("ENCLAVE_OIDC_KEYCLOAK_MFA_ACR", "gold")

    _, identity = _oidc_providers()

    assert identity["keycloak"] == {
        "subject_claim": "oid",
        "groups_claim": "realm_access.roles",
        "role_mapping": {"enclave-auditors": "auditor"},
        "mfa_amr": ["otp"],
        "mfa_acr": ["gold"],
        "groups_overage": "refuse",
    }


def test_graph_resolution_of_an_overage_is_refused_at_start_up_until_it_exists(keycloak_env):
    keycloak_env.setenv("ENCLAVE_OIDC_KEYCLOAK_GROUPS_OVERAGE", "graph")

    with pytest.raises(RuntimeError, match="GROUPS_OVERAGE"):
        _oidc_providers()
