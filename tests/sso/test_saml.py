"""SAML 2.0 through allauth's SAML provider, configured from ENCLAVE_SAML_* variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.sso, pytest.mark.django_db]

IDP_CERT = (
    "MIIBszCCAVmgAwIBAgIUQ0n2z0hY9s0E0Q3l6k1v4bqQ1J8wCgYIKoZIzj0EAwIwFzEVMBMGA1UEAwwMZGVtby1zYW1sLWlk"
    "cDAeFw0yNjAxMDEwMDAwMDBaFw0zNjAxMDEwMDAwMDBa"
)


def _saml_settings(org: str) -> dict:
    return {
        "openid_connect": {"APPS": []},
        "saml": {
            "APPS": [
                {
                    "provider_id": "saml",
                    "client_id": org,
                    "name": "Corporate SAML",
                    "settings": {
                        "idp": {
                            "entity_id": "https://idp.bank.example/saml",
                            "sso_url": "https://idp.bank.example/saml/sso",
                            "x509cert": IDP_CERT,
                        },
                        "sp": {"entity_id": ""},
                        "advanced": {"want_assertion_signed": True, "strict": True},
                    },
                }
            ]
        },
    }


def test_the_sp_metadata_renders_for_a_configured_organisation(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = _saml_settings("corp")
    settings.ALLOWED_HOSTS = ["enclave.bank.example"]

    response = client.get("/accounts/saml/corp/metadata/", HTTP_HOST="enclave.bank.example", secure=True)

    assert response.status_code == 200
    body = response.content.decode()
    assert "EntityDescriptor" in body
    assert "https://enclave.bank.example/accounts/saml/corp/acs/" in body
    assert 'WantAssertionsSigned="true"' in body


def test_an_unconfigured_organisation_has_no_metadata(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = _saml_settings("corp")

    assert client.get("/accounts/saml/other/metadata/").status_code == 404


def test_the_login_page_offers_the_saml_provider(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = _saml_settings("corp")

    assert b"Sign in with Corporate SAML" in client.get("/accounts/login/").content


@pytest.mark.timeout(60)
def test_saml_providers_are_built_from_environment_variables():
    env = {
        "PATH": os.environ["PATH"],
        "ENCLAVE_SAML_PROVIDERS": "corp",
        "ENCLAVE_SAML_CORP_NAME": "Corporate SAML",
        "ENCLAVE_SAML_CORP_IDP_ENTITY_ID": "https://idp.bank.example/saml",
        "ENCLAVE_SAML_CORP_IDP_SSO_URL": "https://idp.bank.example/saml/sso",
        "ENCLAVE_SAML_CORP_IDP_X509CERT": IDP_CERT,
    }
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.SOCIALACCOUNT_PROVIDERS['saml']['APPS']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env={**env, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        timeout=50,
    )

    assert result.returncode == 0, result.stderr
    assert '"client_id": "corp"' in result.stdout
    assert '"sso_url": "https://idp.bank.example/saml/sso"' in result.stdout


def _settings_from(env: dict[str, str], expression: str) -> subprocess.CompletedProcess[str]:
    code = f"import django, json; django.setup(); from django.conf import settings; print(json.dumps({expression}))"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=50,
    )


def _org_env(org: str, **extra: str) -> dict[str, str]:
    prefix = f"ENCLAVE_SAML_{org.upper()}_"
    return {
        f"{prefix}IDP_ENTITY_ID": f"https://idp.{org}.example/saml",
        f"{prefix}IDP_SSO_URL": f"https://idp.{org}.example/saml/sso",
        f"{prefix}IDP_X509CERT": IDP_CERT,
        **{prefix + k: v for k, v in extra.items()},
    }


@pytest.mark.timeout(60)
def test_the_saml_groups_attribute_and_role_mapping_come_from_the_provider_variables():
    env = {
        "ENCLAVE_SAML_PROVIDERS": "corp",
        **_org_env("corp", GROUPS_ATTR="http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
                   ROLE_MAPPING="sg-scientists=data_scientist,sg-auditors=auditor"),
    }  # fmt: skip

    result = _settings_from(env, "settings.ENCLAVE_SSO_PROVIDERS['saml']")

    assert result.returncode == 0, result.stderr
    assert '"groups_claim": "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"' in result.stdout
    assert '"role_mapping": {"sg-scientists": "data_scientist", "sg-auditors": "auditor"}' in result.stdout


@pytest.mark.timeout(60)
def test_two_saml_organisations_with_different_role_mappings_are_refused_at_start():
    env = {
        "ENCLAVE_SAML_PROVIDERS": "corp,lab",
        **_org_env("corp", ROLE_MAPPING="sg-a=data_scientist"),
        **_org_env("lab", ROLE_MAPPING="sg-b=auditor"),
    }

    result = _settings_from(env, "1")

    assert result.returncode != 0
    assert "ENCLAVE_SAML_LAB_GROUPS_ATTR/ROLE_MAPPING must equal" in result.stderr
