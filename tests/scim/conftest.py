"""SCIM connections (an Entra ID one and an Okta one) with their tokens, and a tiny SCIM client
over Django's test client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

ENTRA_ISSUER = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0"
OKTA_ISSUER = "https://bank.okta.com/oauth2/default"
# Entra sends groups by object id; Okta by name.
ENTRA_SCIENTISTS = "6f1e8c52-0c0e-4c7e-9a55-8d9b1c1a0001"
ENTRA_APPROVERS = "6f1e8c52-0c0e-4c7e-9a55-8d9b1c1a0002"


@pytest.fixture
def idp_settings(settings: Any) -> Any:
    settings.ENCLAVE_SSO_PROVIDERS = {
        "entra": {
            "subject_claim": "oid",
            "role_mapping": {ENTRA_SCIENTISTS: "data_scientist", ENTRA_APPROVERS: "approver"},
        },
        "okta": {
            "role_mapping": {"enclave-data-scientists": "data_scientist", "enclave-approvers": "approver"},
        },
    }
    settings.ENCLAVE_ENTRA_PROVIDER = "entra"
    settings.ENCLAVE_MFA_REQUIRED_ROLES = []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


@pytest.fixture
def scim_connection(db: Any, idp_settings: Any) -> tuple[Any, str]:
    from portal.scim.services import create_or_rotate_token

    return create_or_rotate_token("entra", provider="entra", issuer=ENTRA_ISSUER)


@pytest.fixture
def okta_connection(db: Any, idp_settings: Any) -> tuple[Any, str]:
    from portal.scim.services import create_or_rotate_token

    return create_or_rotate_token("okta", provider="okta", issuer=OKTA_ISSUER)


class Scim:
    """JSON in, JSON out, with the connection's bearer token."""

    def __init__(self, token: str) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        url = path if path.startswith("/") else f"/scim/v2/{path}"
        kwargs: dict[str, Any] = {"headers": self.headers}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/scim+json")
        response = getattr(self.client, method.lower())(url, **kwargs)
        if expect is not None:
            assert response.status_code == expect, response.content.decode()[:2000]
        return response


@pytest.fixture
def scim(scim_connection: tuple[Any, str]) -> Scim:
    return Scim(scim_connection[1])


@pytest.fixture
def okta(okta_connection: tuple[Any, str]) -> Scim:
    return Scim(okta_connection[1])
