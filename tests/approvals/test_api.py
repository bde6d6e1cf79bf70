"""The approvals REST API: same services, same rules, audited refusals."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from approvals import services
from approvals.models import AccessRequest, Dataset
from audit.models import AuditEvent
from tests.approvals.conftest import TaskQueue, make_user

pytestmark = pytest.mark.django_db


def api_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_scientist_creates_a_request_through_the_api(
    scientist: Any, workspace: Any, dataset: Any, queue: TaskQueue
) -> None:
    response = api_for(scientist).post(
        "/api/v1/access-requests",
        {"dataset": dataset.slug, "workspace": str(workspace.pk), "duration_hours": 4,
         "justification": "Fraud model retraining for Q3."},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["state"] == "pending"
    assert response.json()["still_needed"] == 1


def test_api_refuses_a_request_breaking_the_policy_with_field_errors(
    scientist: Any, workspace: Any, dataset: Any
) -> None:
    response = api_for(scientist).post(
        "/api/v1/access-requests",
        {"dataset": dataset.slug, "workspace": str(workspace.pk), "duration_hours": 9999, "justification": ""},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"duration_hours", "justification"}


def test_self_approval_through_the_api_is_refused_and_audited(
    scientist: Any, workspace: Any, dataset: Any, queue: TaskQueue
) -> None:
    scientist.groups.add(Group.objects.get(name="approver"))
    req = services.request_access(scientist, dataset, workspace, "Fraud model retraining for Q3.", 8)
    response = api_for(scientist).post(f"/api/v1/access-requests/{req.pk}/approve", {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "not_allowed"
    assert AccessRequest.objects.get(pk=req.pk).state == "pending"
    assert AuditEvent.objects.filter(action="access_request.decision_refused", target_id=str(req.pk)).exists()


def test_non_member_decision_through_the_api_is_refused(pending: Any, queue: TaskQueue) -> None:

    pending.approver_group = Group.objects.create(name="card-data-owners")
    pending.save()
    outsider = make_user(username="out.sider", roles=["approver"])
    response = api_for(outsider).post(f"/api/v1/access-requests/{pending.pk}/deny", {"comment": "no"}, format="json")
    assert response.status_code == 403


def test_approver_approves_and_denies_through_the_api(
    pending: Any, approver: Any, second_approver: Any, queue: TaskQueue
) -> None:
    inbox = api_for(approver).get("/api/v1/access-requests?scope=inbox").json()
    assert [r["id"] for r in inbox["results"]] == [str(pending.pk)]
    response = api_for(approver).post(f"/api/v1/access-requests/{pending.pk}/approve", {"comment": "ok"}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "approved"
    assert response.json()["grant"]["status"] == "pending"
    again = api_for(second_approver).post(
        f"/api/v1/access-requests/{pending.pk}/deny", {"comment": "no"}, format="json"
    )
    assert again.status_code == 409


def test_deny_without_comment_is_a_400(pending: Any, approver: Any) -> None:
    response = api_for(approver).post(f"/api/v1/access-requests/{pending.pk}/deny", {}, format="json")
    assert response.status_code == 400


def test_someone_elses_request_is_an_audited_404(pending: Any, other_scientist: Any) -> None:
    assert api_for(other_scientist).get(f"/api/v1/access-requests/{pending.pk}").status_code == 404
    assert api_for(other_scientist).post(f"/api/v1/access-requests/{pending.pk}/withdraw").status_code == 404
    assert AuditEvent.objects.filter(action="access.denied", target_id=str(pending.pk)).count() == 2


def test_requester_withdraws_through_the_api(pending: Any, scientist: Any, queue: TaskQueue) -> None:
    response = api_for(scientist).post(f"/api/v1/access-requests/{pending.pk}/withdraw")
    assert response.json()["state"] == "withdrawn"


def test_grants_list_shows_only_own_grants_to_a_scientist(
    pending: Any, approver: Any, scientist: Any, other_scientist: Any, queue: TaskQueue, fake_backend: Any
) -> None:
    services.approve_request(approver, pending)
    queue.run()
    mine = api_for(scientist).get("/api/v1/grants").json()
    assert [g["status"] for g in mine["results"]] == ["applied"]
    assert mine["results"][0]["grant_ref"]["grant_id"] == mine["results"][0]["id"]
    assert api_for(other_scientist).get("/api/v1/grants").json()["results"] == []


def test_catalog_admin_creates_a_dataset_through_the_api(catalog_admin: Any) -> None:
    services.default_policy()
    response = api_for(catalog_admin).post(
        "/api/v1/datasets",
        {"slug": "loans", "name": "Loans", "classification": "confidential", "provider": "aws_sagemaker",
         "location": "s3://bank-data/loans/"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["policy"] == services.DEFAULT_POLICY_NAME
    patched = api_for(catalog_admin).patch("/api/v1/datasets/loans", {"active": False}, format="json")
    assert patched.json()["active"] is False
    assert AuditEvent.objects.get(action="dataset.updated").details["after"] == {"active": False}


def test_scientist_cannot_create_datasets_but_can_list_them(scientist: Any, dataset: Any) -> None:
    client = api_for(scientist)
    response = client.post(
        "/api/v1/datasets",
        {"slug": "x", "name": "X", "classification": "internal", "provider": "aws_sagemaker",
         "location": "s3://bank-data/x/"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 403
    assert not Dataset.objects.filter(slug="x").exists()
    assert AuditEvent.objects.filter(action="access.denied", actor_label="sam.scientist").exists()
    assert [d["slug"] for d in client.get("/api/v1/datasets").json()["results"]] == ["cards"]


def test_a_non_approver_gets_403_not_a_validation_error_when_denying(pending: Any, auditor: Any) -> None:
    response = api_for(auditor).post(f"/api/v1/access-requests/{pending.pk}/deny", {}, format="json")
    assert response.status_code == 403
