"""The sweeper: a committed intent always gets its task, even when the broker lost the message.

Unit tests with the in-memory backend and the hand-run task queue; the real broker outage and
killed workers are in ``tests/integration/test_durable_dispatch.py`` and ``test_chaos.py``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from audit.models import AuditEvent
from workspaces import dispatch, services, sweeper
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


class DeadBroker:
    """Stands in for the Celery app when Redis is unreachable: every publish fails as kombu would."""

    calls = 0

    def send_task(self, *args: Any, **kwargs: Any) -> None:
        DeadBroker.calls += 1
        raise OperationalError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")


@pytest.fixture
def dead_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dispatch, "current_app", DeadBroker())


def due(ws: Workspace) -> datetime:
    assert ws.next_due_at is not None
    return ws.next_due_at + timedelta(seconds=1)


def later(seconds: int) -> Any:
    return timezone.now() + timedelta(seconds=seconds)


def test_a_request_whose_task_could_not_be_published_is_still_recorded_and_due_now(
    scientist, request_kwargs, fake_backend, dead_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ws = services.request_workspace(scientist, **request_kwargs)
    ws.refresh_from_db()
    assert ws.state == "requested"
    assert ws.next_due_at is not None
    assert ws.next_due_at <= timezone.now()
    assert AuditEvent.objects.filter(action="workspace.requested", target_id=str(ws.pk)).exists()


def test_a_sweep_once_the_request_is_overdue_provisions_it_when_its_message_was_lost(
    scientist, request_kwargs, fake_backend, task_queue
):
    ws = services.request_workspace(scientist, **request_kwargs)
    task_queue.sent.clear()  # the message never reached a worker
    assert sweeper.sweep_all(later(0))["workspaces_resent"] == 0  # not overdue yet
    found = sweeper.sweep_all(later(services.sweep_grace().seconds + 1))
    assert found["workspaces_resent"] == 1
    assert task_queue.names() == ["provision_workspace"]
    task_queue.drain()
    ws.refresh_from_db()
    assert ws.state == "running"
    assert ws.next_due_at is None
    assert fake_backend.create_calls == 1


def test_two_sweeps_at_the_same_moment_send_an_overdue_item_once(scientist, request_kwargs, fake_backend, task_queue):
    services.request_workspace(scientist, **request_kwargs)
    task_queue.sent.clear()
    moment = later(services.sweep_grace().seconds + 1)
    sweeper.sweep_all(moment)
    sweeper.sweep_all(moment)
    assert task_queue.names() == ["provision_workspace"]


def test_a_duplicate_provision_from_the_sweeper_builds_one_instance(
    scientist, request_kwargs, fake_backend, task_queue
):
    ws = services.request_workspace(scientist, **request_kwargs)
    task_queue.sent.append(("provision_workspace", str(ws.pk), None))  # the sweeper's copy
    task_queue.drain()
    ws.refresh_from_db()
    assert ws.state == "running"
    assert fake_backend.create_calls == 1
    assert list(AuditEvent.objects.filter(target_id=str(ws.pk)).values_list("action", flat=True)) == [
        "workspace.requested", "workspace.provisioning", "workspace.running",
    ]  # fmt: skip


def test_a_lost_poll_is_resent_as_a_status_check(scientist, request_kwargs, fake_backend, task_queue):
    ws = services.request_workspace(scientist, **request_kwargs)
    task_queue.run_next()  # provision: the instance exists, a poll is queued...
    task_queue.sent.clear()  # ...and lost with its worker
    ws.refresh_from_db()
    assert ws.state == "provisioning"
    sweeper.sweep_all(due(ws))
    assert task_queue.names() == ["poll_workspace"]
    task_queue.drain()
    assert Workspace.objects.get(pk=ws.pk).state == "running"


@pytest.mark.parametrize(
    ("action", "task"), [("stop_workspace", "stop_workspace"), ("delete_workspace", "delete_workspace")]
)
def test_a_lost_stop_or_delete_is_resent(scientist, request_kwargs, fake_backend, task_queue, action, task):
    ws = services.request_workspace(scientist, **request_kwargs)
    task_queue.drain()
    getattr(services, action)(scientist, Workspace.objects.get(pk=ws.pk))
    task_queue.sent.clear()
    ws.refresh_from_db()
    sweeper.sweep_all(due(ws))
    assert task_queue.names() == [task]
    task_queue.drain()
    assert Workspace.objects.get(pk=ws.pk).state == {"stop_workspace": "stopped", "delete_workspace": "deleted"}[action]


def test_a_settled_workspace_owes_nothing_to_the_sweeper(scientist, request_kwargs, fake_backend, task_queue):
    ws = services.request_workspace(scientist, **request_kwargs)
    task_queue.drain()
    assert Workspace.objects.get(pk=ws.pk).next_due_at is None
    assert sweeper.sweep_all(later(3600))["workspaces_resent"] == 0


def test_the_sweeper_times_out_an_operation_whose_poll_never_comes(scientist, request_kwargs, fake_backend, task_queue):
    ws = services.request_workspace(scientist, **request_kwargs)
    task_queue.run_next()
    task_queue.sent.clear()
    found = sweeper.sweep_all(later(services.operation_timeout_seconds() + 5))
    ws.refresh_from_db()
    assert found["timed_out"] == 1
    assert ws.state == "failed"
    assert ws.last_error_code == "timeout"
    assert "Timed out waiting for AWS after 30 minutes" in ws.last_error
    assert ws.next_due_at is None


def test_a_registered_sweep_that_crashes_does_not_stop_the_workspace_sweep(
    scientist, request_kwargs, fake_backend, task_queue, monkeypatch
):
    def broken(now: Any, limit: int) -> dict[str, int]:
        raise RuntimeError("boom")

    monkeypatch.setitem(sweeper._SWEEPS, "broken", broken)
    services.request_workspace(scientist, **request_kwargs)
    task_queue.sent.clear()
    found = sweeper.sweep_all(later(services.sweep_grace().seconds + 1))
    assert found["broken_errors"] == 1
    assert found["workspaces_resent"] == 1


def test_publish_reports_a_dead_broker_instead_of_raising(dead_broker):
    assert dispatch.publish("workspaces.provision", ["x"]) is False
