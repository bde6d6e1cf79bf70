"""The workspace services: who may request, what a request must fit, quotas, approval,
the owner's actions, and that every change is audited."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from catalog.models import RoleQuota
from tests.factories import TemplateVersionFactory, UserFactory
from tests.workspaces.fakes import actions_for, make_workspace
from workspaces import services
from workspaces.exceptions import (
    InvalidTransition,
    NotAllowed,
    QuotaExceeded,
    WorkspaceNotFound,
    WorkspaceRequestInvalid,
)
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def refusals() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="workspace.request_refused"))


# --- requesting --------------------------------------------------------------------------


def test_scientist_request_records_intent_and_schedules_provisioning(scientist, request_kwargs, task_queue):
    ws = services.request_workspace(scientist, **request_kwargs)

    ws.refresh_from_db()
    assert ws.state == "requested"
    assert ws.resource_name == f"enclave-{ws.pk.hex[:12]}"
    assert ws.cost_centre == scientist.cost_centre
    assert actions_for(ws) == ["workspace.requested"]
    assert task_queue.names() == ["provision_workspace"]


def test_provisioning_is_scheduled_only_when_the_request_commits(
    scientist, request_kwargs, django_capture_on_commit_callbacks, monkeypatch
):
    sent: list[str] = []
    monkeypatch.setattr(services, "send_task", lambda name, wid, countdown=None: sent.append(name))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.request_workspace(scientist, **request_kwargs)
        assert sent == []
    for callback in callbacks:
        callback()
    assert sent == ["provision_workspace"]


@pytest.mark.parametrize("role_user", ["approver", "auditor", "catalog_admin"])
def test_only_data_scientists_can_request_a_workspace(role_user, request, request_kwargs, task_queue):
    user = request.getfixturevalue(role_user)
    with pytest.raises(NotAllowed):
        services.request_workspace(user, **request_kwargs)
    assert not Workspace.objects.exists()
    assert [e.actor_label for e in refusals()] == [user.username]
    assert task_queue.sent == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"instance_type": "ml.p4d.24xlarge"}, "instance_type"),
        ({"volume_size_gb": 500}, "volume_size_gb"),
        ({"volume_size_gb": 1}, "volume_size_gb"),
        ({"data_classification": "restricted"}, "data_classification"),
        ({"name": ""}, "name"),
        ({"name": "<script>"}, "name"),
    ],
)
def test_request_outside_the_templates_limits_is_refused_with_a_field_error(
    change, field, scientist, request_kwargs, task_queue
):
    with pytest.raises(WorkspaceRequestInvalid) as err:
        services.request_workspace(scientist, **{**request_kwargs, **change})
    assert field in err.value.field_errors
    assert not Workspace.objects.exists()
    assert refusals()[0].outcome == "denied"
    assert field in refusals()[0].details["fields"]


def test_template_without_a_published_version_cannot_be_requested(scientist, request_kwargs, sm_template):
    sm_template.versions.update(status="retired")
    with pytest.raises(WorkspaceRequestInvalid, match="no published version"):
        services.request_workspace(scientist, **request_kwargs)
    assert not Workspace.objects.exists()


def test_unknown_template_is_refused(scientist, request_kwargs):
    with pytest.raises(WorkspaceRequestInvalid):
        services.request_workspace(scientist, **{**request_kwargs, "template_slug": "nope"})


def test_per_template_limit_per_user_holds(scientist, request_kwargs, sm_template, task_queue):
    sm_template.max_workspaces_per_user = 1
    sm_template.save()
    services.request_workspace(scientist, **request_kwargs)
    with pytest.raises(QuotaExceeded, match="per person"):
        services.request_workspace(scientist, **{**request_kwargs, "name": "second"})
    assert Workspace.objects.count() == 1


def test_running_quota_of_the_role_holds(scientist, request_kwargs, sm_template, task_queue):
    RoleQuota.objects.create(role="data_scientist", max_running=1, max_total=5)
    services.request_workspace(scientist, **request_kwargs)
    with pytest.raises(QuotaExceeded, match="running"):
        services.request_workspace(scientist, **{**request_kwargs, "name": "second"})


def test_total_quota_counts_stopped_workspaces(scientist, request_kwargs, sm_template, task_queue):
    RoleQuota.objects.create(role="data_scientist", max_running=1, max_total=1)
    make_workspace(owner=scientist, template_version=sm_template.versions.get(), state="stopped")
    with pytest.raises(QuotaExceeded, match="quota is 1"):
        services.request_workspace(scientist, **request_kwargs)


def test_deleted_workspaces_do_not_count_against_the_quota(scientist, request_kwargs, sm_template, task_queue):
    RoleQuota.objects.create(role="data_scientist", max_running=1, max_total=1)
    make_workspace(owner=scientist, template_version=sm_template.versions.get(), state="deleted")
    assert services.request_workspace(scientist, **request_kwargs).state == "requested"


def test_spec_carries_every_mandatory_tag(scientist, request_kwargs, task_queue):
    ws = services.request_workspace(scientist, **request_kwargs)
    spec = services.build_spec(Workspace.objects.get(pk=ws.pk))
    assert spec.tags["enclave:managed"] == "true"
    assert spec.tags["enclave:workspace-id"] == str(ws.pk)
    assert spec.tags["owner"] == scientist.username
    assert spec.tags["template"] == "sm-standard"
    assert spec.tags["template-version"] == str(ws.template_version.number)
    assert spec.tags["cost-centre"] == "CC-1001"
    assert spec.tags["data-classification"] == "internal"
    assert spec.tags["environment"] == "analytics"  # the template's own mandatory tag
    assert spec.resource_name == ws.resource_name


# --- approval ----------------------------------------------------------------------------


@pytest.fixture
def approval_template(db: Any) -> Any:
    return TemplateVersionFactory(template__slug="sm-restricted", template__needs_approval=True).template


def test_template_needing_approval_waits_and_calls_the_approvals_hook(
    scientist, request_kwargs, approval_template, task_queue, monkeypatch
):
    called: list[Workspace] = []
    monkeypatch.setattr("approvals.workspace_hooks.WorkspaceApprovalGate.open", lambda _gate, ws: called.append(ws))
    ws = services.request_workspace(scientist, **{**request_kwargs, "template_slug": "sm-restricted"})
    assert ws.state == "pending_approval"
    assert called == [ws]
    assert task_queue.sent == []
    assert actions_for(ws) == ["workspace.requested", "workspace.approval_requested"]


def test_approved_workspace_is_provisioned(scientist, approver, request_kwargs, approval_template, task_queue):
    ws = services.request_workspace(scientist, **{**request_kwargs, "template_slug": "sm-restricted"})
    services.approve_workspace(ws, approver, comment="fine")
    ws.refresh_from_db()
    assert ws.state == "approved"
    assert task_queue.names() == ["provision_workspace"]
    assert actions_for(ws)[-1] == "workspace.approved"


def test_rejected_workspace_is_never_built(scientist, approver, request_kwargs, approval_template, task_queue):
    ws = services.request_workspace(scientist, **{**request_kwargs, "template_slug": "sm-restricted"})
    services.reject_workspace(ws, approver, reason="no business need")
    ws.refresh_from_db()
    assert ws.state == "rejected"
    assert task_queue.sent == []
    event = AuditEvent.objects.filter(action="workspace.rejected").get()
    assert event.details["reason"] == "no business need"


def test_requester_cannot_approve_their_own_workspace(request_kwargs, approval_template, task_queue):
    both: Any = UserFactory(username="dual.role", roles=["data_scientist", "approver"])
    ws = services.request_workspace(both, **{**request_kwargs, "template_slug": "sm-restricted"})
    with pytest.raises(NotAllowed):
        services.approve_workspace(ws, both)
    ws.refresh_from_db()
    assert ws.state == "pending_approval"
    assert AuditEvent.objects.filter(action="access.denied", actor=both).exists()


def test_a_pending_workspace_cancelled_by_the_system_is_rejected_with_the_reason(
    scientist, request_kwargs, approval_template, task_queue
):
    ws = services.request_workspace(scientist, **{**request_kwargs, "template_slug": "sm-restricted"})
    services.cancel_workspace_request(ws, reason="Nobody decided in time.", system_actor="task:approvals.follow_up")
    ws.refresh_from_db()
    assert ws.state == "rejected"
    assert task_queue.sent == []
    event = AuditEvent.objects.filter(action="workspace.request_cancelled", target_id=str(ws.pk)).get()
    assert (event.actor, event.actor_label) == (None, "task:approvals.follow_up")
    assert event.details["from"] == "pending_approval"
    assert event.details["to"] == "rejected"
    assert event.details["reason"] == "Nobody decided in time."


def test_its_owner_can_cancel_their_pending_workspace_request(scientist, request_kwargs, approval_template, task_queue):
    ws = services.request_workspace(scientist, **{**request_kwargs, "template_slug": "sm-restricted"})
    services.cancel_workspace_request(ws, reason="Withdrawn.", actor=scientist)
    ws.refresh_from_db()
    assert ws.state == "rejected"
    assert AuditEvent.objects.get(action="workspace.request_cancelled").actor == scientist


def test_nobody_else_can_cancel_a_pending_workspace_request(
    scientist, other_scientist, request_kwargs, approval_template, task_queue
):
    ws = services.request_workspace(scientist, **{**request_kwargs, "template_slug": "sm-restricted"})
    with pytest.raises(WorkspaceNotFound):
        services.cancel_workspace_request(ws, reason="not mine", actor=other_scientist)
    ws.refresh_from_db()
    assert ws.state == "pending_approval"
    assert AuditEvent.objects.filter(action="access.denied", actor=other_scientist, target_id=str(ws.pk)).exists()
    assert not AuditEvent.objects.filter(action="workspace.request_cancelled").exists()


def test_cancelling_a_workspace_no_longer_pending_approval_changes_nothing(
    scientist, approver, request_kwargs, approval_template, task_queue
):
    ws = services.request_workspace(scientist, **{**request_kwargs, "template_slug": "sm-restricted"})
    services.approve_workspace(ws, approver)
    services.cancel_workspace_request(ws, reason="too late", system_actor="task:approvals.follow_up")
    ws.refresh_from_db()
    assert ws.state == "approved"
    assert not AuditEvent.objects.filter(action="workspace.request_cancelled").exists()


def test_a_cancelled_workspace_request_frees_the_running_quota(
    scientist, request_kwargs, approval_template, task_queue
):
    RoleQuota.objects.create(role="data_scientist", max_running=1, max_total=3)
    ws = services.request_workspace(scientist, **{**request_kwargs, "template_slug": "sm-restricted"})
    with pytest.raises(QuotaExceeded):
        services.request_workspace(scientist, **{**request_kwargs, "template_slug": "sm-restricted", "name": "two"})
    services.cancel_workspace_request(ws, reason="Withdrawn.", actor=scientist)
    again = services.request_workspace(scientist, **{**request_kwargs, "template_slug": "sm-restricted", "name": "two"})
    assert again.state == "pending_approval"


# --- the owner's actions --------------------------------------------------------------------


def test_owner_stops_a_running_workspace(scientist, task_queue):
    ws = make_workspace(owner=scientist, state="running", cloud_ref={"provider": "aws_sagemaker", "resource_name": "x"})
    services.stop_workspace(scientist, ws)
    ws.refresh_from_db()
    assert ws.state == "stopping"
    assert task_queue.names() == ["stop_workspace"]
    event = AuditEvent.objects.get(action="workspace.stop_requested")
    assert event.details == {"from": "running", "to": "stopping"}


@pytest.mark.parametrize("service", ["stop_workspace", "start_workspace", "delete_workspace", "retry_workspace"])
def test_another_scientist_cannot_act_on_someone_elses_workspace(service, scientist, other_scientist, task_queue):
    ws = make_workspace(owner=scientist, state="running")
    with pytest.raises(WorkspaceNotFound):
        getattr(services, service)(other_scientist, ws)
    ws.refresh_from_db()
    assert ws.state == "running"
    denied = AuditEvent.objects.get(action="access.denied", actor=other_scientist)
    assert denied.target_id == str(ws.pk)
    assert task_queue.sent == []


def test_stopping_a_stopped_workspace_is_a_conflict(scientist, task_queue):
    ws = make_workspace(owner=scientist, state="stopped")
    with pytest.raises(InvalidTransition):
        services.stop_workspace(scientist, ws)


def test_start_respects_the_running_quota(scientist, task_queue, sm_template):
    RoleQuota.objects.create(role="data_scientist", max_running=1, max_total=5)
    version = sm_template.versions.get()
    make_workspace(owner=scientist, template_version=version, state="running")
    stopped = make_workspace(owner=scientist, template_version=version, state="stopped")
    with pytest.raises(QuotaExceeded):
        services.start_workspace(scientist, stopped)


def test_deleting_a_workspace_never_built_finishes_at_once(scientist, task_queue):
    ws = make_workspace(owner=scientist, state="pending_approval")
    services.delete_workspace(scientist, ws)
    ws.refresh_from_db()
    assert ws.state == "deleted"
    assert ws.deleted_at is not None
    assert task_queue.sent == []
    assert actions_for(ws) == ["workspace.delete_requested", "workspace.deleted"]


def test_deleting_a_built_workspace_schedules_cloud_deletion(scientist, task_queue):
    ws = make_workspace(owner=scientist, state="stopped")
    services.delete_workspace(scientist, ws)
    ws.refresh_from_db()
    assert ws.state == "deleting"
    assert task_queue.names() == ["delete_workspace"]


def test_retry_of_a_failed_provisioning_provisions_again(scientist, task_queue):
    ws = make_workspace(owner=scientist, state="failed", failed_during="provisioning", last_error="quota")
    services.retry_workspace(scientist, ws)
    ws.refresh_from_db()
    assert ws.state == "provisioning"
    assert ws.last_error == ""
    assert task_queue.names() == ["provision_workspace"]
    assert AuditEvent.objects.get(action="workspace.retried").details["last_error"] == "quota"


def test_retry_of_a_failed_deletion_resumes_deleting(scientist, task_queue):
    ws = make_workspace(owner=scientist, state="failed", failed_during="deleting")
    services.retry_workspace(scientist, ws)
    ws.refresh_from_db()
    assert ws.state == "deleting"
    assert task_queue.names() == ["delete_workspace"]


def test_owner_opens_a_running_workspace_with_a_short_session(scientist, fake_backend, settings):
    settings.ENCLAVE_NOTEBOOK_SESSION_SECONDS = 900
    ws = make_workspace(owner=scientist, state="running",
                          cloud_ref={"provider": "aws_sagemaker", "resource_name": "enclave-abc"})  # fmt: skip
    url = services.open_workspace(scientist, ws)
    assert url.endswith("user=sam.scientist&ttl=900")
    assert AuditEvent.objects.get(action="workspace.opened").details == {"session_seconds": 900}


def test_nobody_else_can_open_a_workspace(scientist, other_scientist, fake_backend):
    ws = make_workspace(owner=scientist, state="running",
                          cloud_ref={"provider": "aws_sagemaker", "resource_name": "enclave-abc"})  # fmt: skip
    with pytest.raises(WorkspaceNotFound):
        services.open_workspace(other_scientist, ws)
    assert fake_backend.calls == []
    assert AuditEvent.objects.filter(action="access.denied", actor=other_scientist).count() == 1
    assert not AuditEvent.objects.filter(action="workspace.opened").exists()
