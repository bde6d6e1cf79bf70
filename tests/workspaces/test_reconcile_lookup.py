"""Reconciliation decides from what the cloud says about each workspace's own resource."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from workspaces import reconcile, services
from workspaces.backends.base import CloudState, Throttled
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(scientist, request_kwargs, task_queue, fake_backend) -> Workspace:
    ws = services.request_workspace(scientist, **request_kwargs)
    task_queue.drain()
    return Workspace.objects.get(pk=ws.pk)


def test_a_running_workspace_the_listing_does_not_cover_is_not_failed(running, fake_backend, monkeypatch):
    # Azure's listing only covers the Azure ML workspaces a process knows: it may come back empty.
    monkeypatch.setattr(fake_backend, "inventory", lambda: [])
    reconcile.reconcile_all()
    reconcile.reconcile_all()
    ws = Workspace.objects.get(pk=running.pk)
    assert ws.state == "running"
    assert ws.drift == []


def test_every_pass_records_the_providers_current_status(running, fake_backend):
    fake_backend.instances[running.resource_name].state = CloudState.STOPPED
    reconcile.reconcile_all()
    assert Workspace.objects.get(pk=running.pk).cloud_status == "Stopped"


def test_a_workspace_not_found_once_is_not_yet_missing(running, fake_backend):
    fake_backend.instances.clear()
    found = reconcile.reconcile_all()
    ws = Workspace.objects.get(pk=running.pk)
    assert found["not_found_once"] == 1
    assert ws.state == "running"
    assert ws.missing_since is not None


def test_a_second_not_found_too_soon_after_the_first_decides_nothing(running, fake_backend):
    fake_backend.instances.clear()
    reconcile.reconcile_all()
    reconcile.reconcile_all()
    assert Workspace.objects.get(pk=running.pk).state == "running"


def test_a_workspace_seen_again_after_a_not_found_is_no_longer_suspect(running, fake_backend):
    instance = fake_backend.instances.pop(running.resource_name)
    reconcile.reconcile_all()
    fake_backend.instances[running.resource_name] = instance
    reconcile.reconcile_all()
    ws = Workspace.objects.get(pk=running.pk)
    assert ws.missing_since is None
    assert ws.state == "running"


def test_a_cloud_that_cannot_answer_decides_nothing(running, fake_backend):
    fake_backend.fail_next("describe", Throttled("slow down"), times=5)
    Workspace.objects.filter(pk=running.pk).update(missing_since=timezone.now() - timedelta(hours=1))
    reconcile.reconcile_all()
    assert Workspace.objects.get(pk=running.pk).state == "running"


def test_a_stop_made_outside_enclave_is_drift_shown_with_the_providers_status(running, fake_backend):
    fake_backend.instances[running.resource_name].state = CloudState.STOPPED
    reconcile.reconcile_all()
    reconcile.reconcile_all()  # still shown on the next pass
    ws = Workspace.objects.get(pk=running.pk)
    assert ws.state == "stopped"
    assert ws.drift == ["stopped outside Enclave"]
    event = AuditEvent.objects.get(action="workspace.drift_detected", target_id=str(ws.pk))
    assert event.details["cloud_status"] == "Stopped"
