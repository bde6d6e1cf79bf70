"""Celery tasks of the workspace lifecycle: thin, idempotent, never sleeping.

Each task loads the workspace by id, re-checks its state (the services lock the row
before changing it), makes one round of cloud calls through the provider backend and
reports the outcome to a service. Waiting for the cloud is a chain of polls re-enqueued
with exponential back-off, never a sleep in a worker. A retryable ``CloudError`` retries
the task (the provider's ``retry_after`` or back-off); anything else fails the workspace
with a message its owner can read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task

from workspaces import backends, services
from workspaces.backends.base import CloudError, CloudRef
from workspaces.models import Workspace, WorkspaceState

S = WorkspaceState
MAX_CLOUD_RETRIES = 5
log = logging.getLogger(__name__)


def retry_countdown(exc: CloudError, retries: int) -> float:
    """The provider's hint if it gave one (bounded), else 2, 4, 8… seconds."""
    if exc.retry_after is not None:
        return float(min(max(exc.retry_after, 1.0), 300.0))
    return float(services.poll_countdown(retries + 1))


def _guarded(task: Task, workspace_id: str, step: Callable[[str], None], what: str) -> None:
    """Run one step; retry transient cloud errors, fail the workspace on the rest."""
    try:
        step(workspace_id)
    except CloudError as exc:
        if exc.retryable and task.request.retries < MAX_CLOUD_RETRIES:
            log.warning("workspace %s: %s failed (%s), retrying", workspace_id, what, exc.code)
            countdown = retry_countdown(exc, task.request.retries)
            services.postpone(workspace_id, countdown)
            raise task.retry(countdown=countdown, exc=exc) from exc
        services.fail_workspace(workspace_id, exc.user_message, exc.provider_code or exc.code)
    except Workspace.DoesNotExist:
        log.warning("workspace %s: gone before %s", workspace_id, what)
    except Exception:
        log.exception("workspace %s: unexpected error during %s", workspace_id, what)
        services.fail_workspace(
            workspace_id, f"An unexpected error stopped the {what}; the platform team can see the details.", "internal"
        )
        raise


def _ref(ws: Workspace) -> CloudRef:
    return CloudRef.from_json(ws.cloud_ref)


# --- steps (plain functions, so tests can run them directly) ------------------------------


def provision_step(workspace_id: str) -> None:
    ws = services.begin_provisioning(workspace_id)
    if ws is None:
        return
    ref = backends.get_backend(ws.provider).provision(services.build_spec(ws))
    if services.store_cloud_ref(workspace_id, ref):
        services.schedule("poll_workspace", workspace_id, services.poll_countdown(1))


def poll_step(workspace_id: str) -> None:
    ws = Workspace.objects.get(pk=workspace_id)
    if ws.state not in (S.PROVISIONING, S.STARTING, S.STOPPING) or not ws.cloud_ref:
        return
    status = backends.get_backend(ws.provider).describe(_ref(ws))
    result = services.apply_cloud_status(workspace_id, ws.state, status)
    if result.countdown is not None:
        services.schedule("poll_workspace", workspace_id, result.countdown)


def stop_step(workspace_id: str) -> None:
    ws = Workspace.objects.get(pk=workspace_id)
    if ws.state != S.STOPPING:
        return
    backends.get_backend(ws.provider).stop(_ref(ws))
    services.schedule("poll_workspace", workspace_id, services.poll_countdown(1))


def start_step(workspace_id: str) -> None:
    ws = Workspace.objects.get(pk=workspace_id)
    if ws.state != S.STARTING:
        return
    backends.get_backend(ws.provider).start(_ref(ws))
    services.schedule("poll_workspace", workspace_id, services.poll_countdown(1))


def delete_step(workspace_id: str) -> None:
    ws = Workspace.objects.get(pk=workspace_id)
    if ws.state != S.DELETING:
        return
    if not ws.cloud_ref:
        result = services.delete_without_cloud_ref(workspace_id)
    else:
        status = backends.get_backend(ws.provider).delete(_ref(ws))
        result = services.finish_delete(workspace_id, status)
    if result.countdown is not None:
        services.schedule("delete_workspace", workspace_id, result.countdown)


# --- tasks ------------------------------------------------------------------------------

TASK_OPTIONS: dict[str, Any] = {"bind": True, "max_retries": MAX_CLOUD_RETRIES, "acks_late": True}


@shared_task(name="workspaces.provision", **TASK_OPTIONS)
def provision_workspace(self: Task, workspace_id: str) -> None:
    _guarded(self, workspace_id, provision_step, "provisioning")


@shared_task(name="workspaces.poll", **TASK_OPTIONS)
def poll_workspace(self: Task, workspace_id: str) -> None:
    _guarded(self, workspace_id, poll_step, "status check")


@shared_task(name="workspaces.stop", **TASK_OPTIONS)
def stop_workspace(self: Task, workspace_id: str) -> None:
    _guarded(self, workspace_id, stop_step, "stop")


@shared_task(name="workspaces.start", **TASK_OPTIONS)
def start_workspace(self: Task, workspace_id: str) -> None:
    _guarded(self, workspace_id, start_step, "start")


@shared_task(name="workspaces.delete", **TASK_OPTIONS)
def delete_workspace(self: Task, workspace_id: str) -> None:
    _guarded(self, workspace_id, delete_step, "deletion")


@shared_task(name="workspaces.sweep")
def sweep(now: str | None = None) -> dict[str, int]:
    """Beat (every minute): re-send every overdue item's task and enforce operation time-outs
    (see ``workspaces.sweeper``). ``now`` (ISO 8601) lets tests and operators replay a moment."""
    from django.utils.dateparse import parse_datetime

    from workspaces.sweeper import sweep_all

    return sweep_all(parse_datetime(now) if now else None)


@shared_task(name="workspaces.reconcile")
def reconcile_workspaces() -> dict[str, int]:
    """Beat: compare every provider's inventory with the database (see ``workspaces.reconcile``)."""
    from workspaces.reconcile import reconcile_all

    return reconcile_all()
