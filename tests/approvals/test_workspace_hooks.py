"""Workspaces whose template needs approval go through the same inbox and rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from approvals import services as approval_services
from approvals.exceptions import AlreadyDecided, NotAllowed
from approvals.models import AccessRequest
from audit.models import AuditEvent
from tests.approvals.conftest import TaskQueue, make_user
from tests.factories import TemplateVersionFactory
from workspaces import services as workspace_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def workspace_tasks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []
    monkeypatch.setattr(workspace_services, "enqueue", lambda name, ws, countdown=None: sent.append(name))
    return sent


@pytest.fixture
def pending_workspace(scientist: Any, workspace_tasks: list[str], queue: TaskQueue) -> Any:
    TemplateVersionFactory(template__slug="sm-approval", template__needs_approval=True)
    return workspace_services.request_workspace(scientist, "sm-approval", "churn model", "ml.t3.medium", 20, "internal")


def test_a_workspace_needing_approval_appears_in_the_inbox(pending_workspace: Any, approver: Any) -> None:
    req = AccessRequest.objects.get(workspace=pending_workspace)
    assert (req.kind, req.state, req.dataset) == ("workspace", "pending", None)
    client = Client()
    client.force_login(approver)
    html = client.get(reverse("approvals:inbox")).content.decode()
    assert f'data-testid="inbox-row-{req.pk}"' in html
    assert "churn model" in html


def test_approving_it_lets_the_workspace_be_built(
    pending_workspace: Any, approver: Any, workspace_tasks: list[str], queue: TaskQueue
) -> None:
    req = AccessRequest.objects.get(workspace=pending_workspace)
    approval_services.approve_request(approver, req, "fine")
    pending_workspace.refresh_from_db()
    assert pending_workspace.state == "approved"
    assert workspace_tasks == ["provision_workspace"]
    assert AccessRequest.objects.get(pk=req.pk).state == "approved"


def test_denying_it_rejects_the_workspace(pending_workspace: Any, approver: Any, queue: TaskQueue) -> None:
    req = AccessRequest.objects.get(workspace=pending_workspace)
    approval_services.deny_request(approver, req, "No business need.")
    pending_workspace.refresh_from_db()
    assert pending_workspace.state == "rejected"


def test_its_owner_cannot_approve_their_own_workspace(scientist: Any, pending_workspace: Any, queue: TaskQueue) -> None:
    scientist.groups.add(Group.objects.get(name="approver"))
    req = AccessRequest.objects.get(workspace=pending_workspace)
    with pytest.raises(NotAllowed):
        approval_services.approve_request(scientist, req)
    pending_workspace.refresh_from_db()
    assert pending_workspace.state == "pending_approval"


def test_a_restricted_workspace_needs_two_approvers(
    scientist: Any, workspace_tasks: list[str], approver: Any, queue: TaskQueue
) -> None:
    TemplateVersionFactory(
        template__slug="sm-restricted", template__needs_approval=True, template__classifications=["restricted"]
    )
    ws = workspace_services.request_workspace(scientist, "sm-restricted", "kyc", "ml.t3.medium", 20, "restricted")
    req = AccessRequest.objects.get(workspace=ws)
    approval_services.approve_request(approver, req)
    ws.refresh_from_db()
    assert ws.state == "pending_approval"
    approval_services.approve_request(make_user(username="bea.approver", roles=["approver"]), req)
    ws.refresh_from_db()
    assert ws.state == "approved"


def test_withdrawing_the_approval_request_cancels_the_workspace(
    scientist: Any, pending_workspace: Any, workspace_tasks: list[str], queue: TaskQueue
) -> None:
    req = AccessRequest.objects.get(workspace=pending_workspace)
    approval_services.withdraw_request(scientist, req)
    pending_workspace.refresh_from_db()
    assert pending_workspace.state == "rejected"
    assert AccessRequest.objects.get(pk=req.pk).state == "withdrawn"
    event = AuditEvent.objects.get(action="workspace.request_cancelled", target_id=str(pending_workspace.pk))
    assert event.actor == scientist
    assert "withdrew" in event.details["reason"]
    assert workspace_tasks == []


def test_an_approval_request_nobody_decides_times_out_and_cancels_the_workspace(
    settings: Any, pending_workspace: Any, workspace_tasks: list[str], queue: TaskQueue
) -> None:
    settings.ENCLAVE_APPROVAL_TIMEOUT_HOURS = 3
    req = AccessRequest.objects.get(workspace=pending_workspace)
    assert approval_services.follow_up(req.created_at + timedelta(hours=2))["timed_out"] == 0
    assert approval_services.follow_up(req.created_at + timedelta(hours=4))["timed_out"] == 1
    pending_workspace.refresh_from_db()
    assert pending_workspace.state == "rejected"
    assert AccessRequest.objects.get(pk=req.pk).state == "timed_out"
    event = AuditEvent.objects.get(action="workspace.request_cancelled", target_id=str(pending_workspace.pk))
    assert (event.actor, event.actor_label) == (None, "task:approvals.follow_up")
    assert "3 hours" in event.details["reason"]
    assert workspace_tasks == []


def test_a_late_approval_after_the_time_out_builds_nothing(
    settings: Any, pending_workspace: Any, approver: Any, workspace_tasks: list[str], queue: TaskQueue
) -> None:
    settings.ENCLAVE_APPROVAL_TIMEOUT_HOURS = 1
    req = AccessRequest.objects.get(workspace=pending_workspace)
    approval_services.follow_up(req.created_at + timedelta(hours=2))
    with pytest.raises(AlreadyDecided):
        approval_services.approve_request(approver, req, "late")
    pending_workspace.refresh_from_db()
    assert pending_workspace.state == "rejected"
    assert workspace_tasks == []


def test_deleting_a_workspace_awaiting_approval_withdraws_its_inbox_item(
    scientist: Any, pending_workspace: Any, approver: Any, queue: TaskQueue
) -> None:
    req = AccessRequest.objects.get(workspace=pending_workspace)

    workspace_services.delete_workspace(scientist, pending_workspace)

    assert AccessRequest.objects.get(pk=req.pk).state == "withdrawn"
    pending_workspace.refresh_from_db()
    assert pending_workspace.state == "deleted"
    event = AuditEvent.objects.get(action="access_request.withdrawn", target_id=str(req.pk))
    assert event.actor_label == scientist.username
    assert event.details["reason"] == "the workspace was deleted before a decision"
    client = Client()
    client.force_login(approver)
    assert f'data-testid="inbox-row-{req.pk}"' not in client.get(reverse("approvals:inbox")).content.decode()
