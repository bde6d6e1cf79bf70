"""API bodies: unknown fields are refused with a 400 naming them, free text is bounded alike in
model, form and serializer, and the schema needs a role."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from approvals.forms import NewRequestForm
from approvals.models import AccessRequest
from core import limits

pytestmark = pytest.mark.django_db


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_unknown_field_in_a_body_is_a_400_naming_it(scientist):
    body = {"template": "x", "name": "n", "instance_type": "ml.t3.medium", "data_classification": "internal",
            "owner": "someone.else", "justificaton": "typo"}  # fmt: skip

    response = _api(scientist).post("/api/v1/workspaces", body, format="json")

    assert response.status_code == 400
    assert set(response.json()) >= {"owner", "justificaton"}
    assert "Unknown field" in response.json()["owner"][0]


def test_an_unknown_field_in_a_decision_is_refused(approver, settings):
    settings.ENCLAVE_MFA_REQUIRED_ROLES = []
    response = _api(approver).post(
        "/api/v1/access-requests/00000000-0000-4000-8000-000000000000/approve",
        {"comment": "ok", "approved": True},
        format="json",
    )

    assert response.status_code in (400, 404)
    if response.status_code == 400:
        assert "approved" in response.json()


def test_an_overlong_justification_is_refused_by_the_api(scientist):
    body = {"dataset": "cards", "workspace": "00000000-0000-4000-8000-000000000000", "duration_hours": 1,
            "justification": "x" * (limits.JUSTIFICATION_MAX + 1)}  # fmt: skip

    response = _api(scientist).post("/api/v1/access-requests", body, format="json")

    assert response.status_code == 400
    assert "justification" in response.json()


def test_the_justification_bound_is_the_same_in_model_form_and_serializer():
    from approvals.api import NewAccessRequestSerializer

    model_max = AccessRequest._meta.get_field("justification").max_length
    form_max = getattr(NewRequestForm.base_fields["justification"], "max_length", None)
    api_max = getattr(NewAccessRequestSerializer().fields["justification"], "max_length", None)

    assert model_max == form_max == api_max == limits.JUSTIFICATION_MAX


def test_a_signed_in_user_without_a_role_cannot_read_the_schema(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="no.role"))

    assert client.get("/api/schema/").status_code == 403


def test_a_user_with_a_role_reads_the_schema(client, scientist):
    client.force_login(scientist)

    assert client.get("/api/schema/").status_code == 200


def test_the_schema_is_public_only_when_the_setting_says_so(client, settings):
    settings.ENCLAVE_API_SCHEMA_PUBLIC = True

    assert client.get("/api/schema/").status_code == 200
