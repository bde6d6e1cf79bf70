"""/api/v1/workspaces: the same services and checks as the pages, for scripts and notebooks."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.workspaces.fakes import make_workspace
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db
CLOUD_REF = {"provider": "aws_sagemaker", "resource_name": "enclave-abc"}


@pytest.fixture
def api(scientist) -> APIClient:
    client = APIClient()
    client.force_authenticate(scientist)
    return client


def test_list_shows_only_my_workspaces(api, scientist, other_scientist):
    mine = make_workspace(owner=scientist)
    make_workspace(owner=other_scientist)
    body = api.get("/api/v1/workspaces").json()
    assert [w["id"] for w in body["results"]] == [str(mine.pk)]


def test_create_requests_a_workspace(api, sm_template, task_queue):
    response = api.post(
        "/api/v1/workspaces",
        {"template": "sm-standard", "name": "api one", "instance_type": "ml.t3.medium", "volume_size_gb": 10,
         "data_classification": "internal"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["state"] == "requested"
    assert task_queue.names() == ["provision_workspace"]


def test_create_outside_the_spec_answers_field_errors(api, sm_template, task_queue):
    response = api.post(
        "/api/v1/workspaces",
        {"template": "sm-standard", "name": "x", "instance_type": "ml.p5.48xlarge", "data_classification": "internal"},
        format="json",
    )
    assert response.status_code == 400
    assert "instance_type" in response.json()["fields"]
    assert not Workspace.objects.exists()


def test_quota_exceeded_is_a_conflict(api, sm_template, task_queue):
    sm_template.max_workspaces_per_user = 0
    sm_template.save()
    response = api.post(
        "/api/v1/workspaces",
        {"template": "sm-standard", "name": "x", "instance_type": "ml.t3.medium", "data_classification": "internal"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"] == "quota_exceeded"


@pytest.mark.parametrize("user_fixture", ["approver", "auditor"])
def test_approver_and_auditor_cannot_use_the_workspace_api(request, user_fixture, sm_template):
    client = APIClient()
    user = request.getfixturevalue(user_fixture)
    client.force_authenticate(user)
    assert client.get("/api/v1/workspaces").status_code == 403
    assert client.post("/api/v1/workspaces", {}, format="json").status_code == 403
    assert AuditEvent.objects.filter(action="access.denied", actor=user).exists()


def test_stop_action_changes_state(api, scientist, task_queue):
    ws = make_workspace(owner=scientist, state="running", cloud_ref=CLOUD_REF)
    response = api.post(f"/api/v1/workspaces/{ws.pk}/stop")
    assert response.status_code == 202
    assert response.json()["state"] == "stopping"


def test_action_in_the_wrong_state_is_a_conflict(api, scientist, task_queue):
    ws = make_workspace(owner=scientist, state="stopped")
    assert api.post(f"/api/v1/workspaces/{ws.pk}/stop").status_code == 409


def test_open_returns_a_short_lived_url(api, scientist, fake_backend):
    ws = make_workspace(owner=scientist, state="running", cloud_ref=CLOUD_REF)
    response = api.post(f"/api/v1/workspaces/{ws.pk}/open")
    assert response.status_code == 200
    assert response.json()["url"].startswith("https://notebooks.example/")
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["", "/stop", "/start", "/delete", "/retry", "/open"])
def test_someone_elses_workspace_is_an_audited_404(path, other_scientist, scientist, fake_backend, task_queue):
    ws = make_workspace(owner=scientist, state="running", cloud_ref=CLOUD_REF)
    client = APIClient()
    client.force_authenticate(other_scientist)
    response = (
        client.get(f"/api/v1/workspaces/{ws.pk}") if not path else client.post(f"/api/v1/workspaces/{ws.pk}{path}")
    )
    assert response.status_code == 404
    assert Workspace.objects.get(pk=ws.pk).state == "running"
    assert fake_backend.calls == []
    assert AuditEvent.objects.filter(action="access.denied", actor=other_scientist, target_id=str(ws.pk)).exists()


def test_the_schema_documents_the_workspace_endpoints(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/api/v1/workspaces/{id}/stop" in text
