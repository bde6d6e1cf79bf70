"""The lifecycle tasks against an in-memory backend: request → running → stopped → running →
deleted, idempotence, back-off, time-outs, cloud errors and retries, and reconciliation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from tests.workspaces.fakes import actions_for, make_workspace
from workspaces import reconcile, schedules, services, tasks
from workspaces.backends.base import CloudQuotaExceeded, CloudState, Throttled
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def requested(scientist, request_kwargs, task_queue, fake_backend) -> Workspace:
    return services.request_workspace(scientist, **request_kwargs)


@pytest.fixture
def running(requested, task_queue) -> Workspace:
    task_queue.drain()
    requested.refresh_from_db()
    assert requested.state == "running"
    return requested


def test_request_reaches_running_with_hardening_read_back_from_the_cloud(requested, task_queue, fake_backend):
    task_queue.drain()
    ws = Workspace.objects.get(pk=requested.pk)
    assert ws.state == "running"
    assert ws.applied_hardening["DirectInternetAccess"] == "Disabled"
    assert ws.running_since is not None
    assert ws.cloud_ref["resource_name"] == ws.resource_name
    assert actions_for(ws) == ["workspace.requested", "workspace.provisioning", "workspace.running"]
    assert fake_backend.instances[ws.resource_name].spec.tags["enclave:workspace-id"] == str(ws.pk)


def test_every_transition_of_a_full_lifecycle_is_audited(running, scientist, task_queue):
    services.stop_workspace(scientist, running)
    task_queue.drain()
    services.start_workspace(scientist, running)
    task_queue.drain()
    services.delete_workspace(scientist, running)
    task_queue.drain()
    ws = Workspace.objects.get(pk=running.pk)
    assert ws.state == "deleted"
    assert actions_for(ws) == [
        "workspace.requested", "workspace.provisioning", "workspace.running",
        "workspace.stop_requested", "workspace.stopped",
        "workspace.start_requested", "workspace.running",
        "workspace.delete_requested", "workspace.deleted",
    ]  # fmt: skip
    transitions = AuditEvent.objects.filter(target_id=str(ws.pk)).exclude(action="workspace.requested")
    assert all({"from", "to"} <= set(e.details) for e in transitions)


def test_stop_reaches_the_cloud_and_accrues_running_time(running, scientist, task_queue, fake_backend):
    Workspace.objects.filter(pk=running.pk).update(running_since=timezone.now() - timedelta(hours=2))
    services.stop_workspace(scientist, Workspace.objects.get(pk=running.pk))
    task_queue.drain()
    ws = Workspace.objects.get(pk=running.pk)
    assert ws.state == "stopped"
    assert fake_backend.instances[ws.resource_name].state == CloudState.STOPPED
    assert ws.running_since is None
    assert ws.accrued_running_seconds >= 7200


def test_delete_removes_the_cloud_resource(running, scientist, task_queue, fake_backend):
    services.delete_workspace(scientist, running)
    task_queue.drain()
    assert Workspace.objects.get(pk=running.pk).state == "deleted"
    assert fake_backend.instances == {}


def test_provisioning_task_run_twice_builds_one_instance(requested, task_queue, fake_backend):
    tasks.provision_workspace.apply(args=[str(requested.pk)], throw=True)
    tasks.provision_workspace.apply(args=[str(requested.pk)], throw=True)
    task_queue.drain()
    assert fake_backend.create_calls == 1
    assert len(fake_backend.instances) == 1
    assert Workspace.objects.get(pk=requested.pk).state == "running"
    assert actions_for(requested).count("workspace.provisioning") == 1


def test_a_late_poll_after_the_workspace_moved_on_does_nothing(running, scientist, task_queue, fake_backend):
    services.stop_workspace(scientist, running)
    task_queue.drain()
    before = actions_for(running)
    tasks.poll_workspace.apply(args=[str(running.pk)], throw=True)
    tasks.provision_workspace.apply(args=[str(running.pk)], throw=True)
    assert Workspace.objects.get(pk=running.pk).state == "stopped"
    assert actions_for(running) == before
    assert task_queue.sent == []


def test_polling_backs_off_exponentially_up_to_thirty_seconds(requested, task_queue, fake_backend):
    fake_backend.settle_after = 7
    task_queue.drain()
    assert task_queue.sent == []
    assert Workspace.objects.get(pk=requested.pk).state == "running"


def test_poll_countdowns_grow_then_cap():
    assert [services.poll_countdown(n) for n in range(1, 8)] == [2, 4, 8, 16, 30, 30, 30]


def test_poll_chain_uses_back_off_countdowns(requested, task_queue, fake_backend):
    fake_backend.settle_after = 6
    countdowns = []
    while task_queue.sent:
        countdowns += [c for n, _, c in task_queue.sent if n == "poll_workspace"]
        task_queue.run_next()
    assert countdowns == [2, 2, 4, 8, 16, 30, 30]


def test_provisioning_that_never_finishes_times_out_with_a_clear_message(requested, task_queue, fake_backend):
    fake_backend.settle_after = 10_000
    task_queue.run_next()  # provision
    Workspace.objects.filter(pk=requested.pk).update(operation_started_at=timezone.now() - timedelta(hours=2))
    task_queue.drain()
    ws = Workspace.objects.get(pk=requested.pk)
    assert ws.state == "failed"
    assert ws.last_error.startswith("Timed out waiting for AWS after 30 minutes")
    assert ws.last_error_code == "timeout"


def test_cloud_quota_error_fails_the_workspace_readably_and_a_retry_succeeds(
    requested, scientist, task_queue, fake_backend
):
    fake_backend.fail_next(
        "provision",
        CloudQuotaExceeded(
            "AWS refused: the account's limit for ml.t3.medium notebook instances is reached.",
            provider_code="ResourceLimitExceeded",
        ),
    )
    task_queue.drain()
    ws = Workspace.objects.get(pk=requested.pk)
    assert ws.state == "failed"
    assert "limit for ml.t3.medium" in ws.last_error
    assert ws.last_error_code == "ResourceLimitExceeded"
    assert AuditEvent.objects.get(action="workspace.failed", target_id=str(ws.pk)).outcome == "error"

    services.retry_workspace(scientist, ws)
    task_queue.drain()
    assert Workspace.objects.get(pk=ws.pk).state == "running"
    assert fake_backend.create_calls == 1


def test_throttling_is_retried_by_the_task(requested, task_queue, fake_backend):
    fake_backend.fail_next("provision", Throttled("Slow down.", retry_after=1), times=2)
    task_queue.drain()
    assert Workspace.objects.get(pk=requested.pk).state == "running"
    assert [c for c, _ in fake_backend.calls].count("provision") == 3


def test_throttling_that_never_stops_fails_the_workspace(requested, task_queue, fake_backend):
    fake_backend.fail_next("provision", Throttled("Rate exceeded."), times=tasks.MAX_CLOUD_RETRIES + 1)
    task_queue.drain()
    ws = Workspace.objects.get(pk=requested.pk)
    assert ws.state == "failed"
    assert ws.last_error == "Rate exceeded."


def test_retry_countdown_prefers_the_providers_hint():
    assert tasks.retry_countdown(Throttled("x", retry_after=7), 0) == 7
    assert tasks.retry_countdown(Throttled("x"), 2) == 8


def test_cloud_reporting_failure_fails_the_workspace_with_the_providers_message(requested, task_queue, fake_backend):
    task_queue.run_next()  # provision
    instance = fake_backend.instances[requested.resource_name]
    instance.state, instance.message = CloudState.FAILED, "The subnet has no free IP addresses."
    task_queue.drain()
    ws = Workspace.objects.get(pk=requested.pk)
    assert ws.state == "failed"
    assert ws.last_error == "The subnet has no free IP addresses."


def test_deleting_while_provisioning_cleans_up_what_was_built(requested, scientist, task_queue, fake_backend):
    task_queue.run_next()  # provision: instance created, poll queued
    services.delete_workspace(scientist, Workspace.objects.get(pk=requested.pk))
    task_queue.drain()
    assert Workspace.objects.get(pk=requested.pk).state == "deleted"
    assert fake_backend.instances == {}


# --- reconciliation ------------------------------------------------------------------------


def test_reconciliation_follows_an_idle_shutdown(running, fake_backend):
    fake_backend.instances[running.resource_name].state = CloudState.STOPPED
    found = reconcile.reconcile_all()
    ws = Workspace.objects.get(pk=running.pk)
    assert ws.state == "stopped"
    assert found["state_reconciled"] == 1
    assert AuditEvent.objects.get(action="workspace.state_reconciled").details["to"] == "stopped"


def test_reconciliation_flags_a_workspace_missing_from_the_cloud_on_the_second_look(running, fake_backend):
    fake_backend.instances.clear()
    reconcile.reconcile_all()
    assert Workspace.objects.get(pk=running.pk).state == "running"
    Workspace.objects.filter(pk=running.pk).update(missing_since=timezone.now() - timedelta(minutes=4))
    reconcile.reconcile_all()
    ws = Workspace.objects.get(pk=running.pk)
    assert ws.state == "failed"
    assert ws.drift == ["missing in cloud"]
    assert "no longer exists in AWS" in ws.last_error
    assert AuditEvent.objects.filter(action="workspace.drift_detected", target_id=str(ws.pk)).count() == 1


def test_reconciliation_reports_cloud_resources_unknown_to_enclave_once_a_day(running, fake_backend):
    fake_backend.add_unknown("enclave-orphan00001")
    reconcile.reconcile_all()
    reconcile.reconcile_all()
    events = AuditEvent.objects.filter(action="workspace.drift_detected", target_type="cloud.resource")
    assert [e.target_display for e in events] == ["enclave-orphan00001"]


def test_reconciliation_flags_changed_hardening(running, fake_backend):
    Workspace.objects.filter(pk=running.pk).update(
        applied_hardening={**running.applied_hardening, "DirectInternetAccess": "Enabled"}
    )
    reconcile.reconcile_all()
    ws = Workspace.objects.get(pk=running.pk)
    assert ws.drift == ["hardening changed: DirectInternetAccess"]
    assert ws.reconciled_at is not None


def test_reconciliation_of_a_healthy_fleet_records_nothing(running, fake_backend):
    before = AuditEvent.objects.count()
    reconcile.reconcile_all()
    assert AuditEvent.objects.count() == before
    assert Workspace.objects.get(pk=running.pk).drift == []


def test_ensure_schedules_is_idempotent(db):
    from django_celery_beat.models import PeriodicTask

    schedules.ensure_schedules()
    schedules.ensure_schedules()
    tasks = dict(PeriodicTask.objects.values_list("task", "interval__every"))
    assert tasks == {"workspaces.reconcile": 5, "workspaces.sweep": 1}


def test_a_never_built_workspace_is_not_built_after_deletion(scientist, request_kwargs, task_queue, fake_backend):
    ws = services.request_workspace(scientist, **request_kwargs)
    services.delete_workspace(scientist, ws)
    task_queue.drain()
    assert fake_backend.instances == {}
    assert Workspace.objects.get(pk=ws.pk).state == "deleted"


def test_workspace_factory_is_usable(db):
    assert make_workspace().resource_name.startswith("enclave-")
