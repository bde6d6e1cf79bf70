"""A SCIM connection with its token, and a SCIM client that speaks to the Django app in process."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client


ENTRA_ISSUER = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0"


@pytest.fixture
def scim_connection(db: Any, settings: Any) -> tuple[Any, str]:
    from portal.scim.services import create_or_rotate_token

    settings.ENCLAVE_SSO_PROVIDERS = {
        **(getattr(settings, "ENCLAVE_SSO_PROVIDERS", {}) or {}),
        "entra": {"subject_claim": "oid", "role_mapping": {
            "grp-scientists": "data_scientist", "grp-approvers": "approver",
            "Enclave Auditors": "auditor",
        }},
    }  # fmt: skip
    settings.ENCLAVE_ENTRA_PROVIDER = "entra"
    return create_or_rotate_token("entra", provider="entra", issuer=ENTRA_ISSUER)


class Scim:
    """A tiny SCIM client over Django's test client (JSON in, JSON out)."""

    def __init__(self, token: str) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        url = path if path.startswith("/") else f"/scim/v2/{path}"
        kwargs: dict[str, Any] = {"headers": self.headers}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/scim+json")
        return getattr(self.client, method.lower())(url, **kwargs)


@pytest.fixture
def scim(scim_connection: tuple[Any, str]) -> Scim:
    return Scim(scim_connection[1])
