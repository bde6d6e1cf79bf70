"""The sweeper: the database is the source of truth, the broker carries hints.

Every in-flight item records when the task it is owed must have reported back by
(``Workspace.next_due_at``; ``Grant.next_due_at`` in the approvals app, registered here through
``register``). Beat runs ``sweep_all`` every minute: it re-sends the task of every overdue item,
so a message that was never sent (broker down at commit), lost, or held by a worker that died
heals within minutes; and it enforces operation time-outs, which a poll that never comes cannot.

Cheap and idempotent: one indexed range query per kind (a partial index holds only the rows that
owe a task), at most ``ENCLAVE_SWEEP_BATCH`` rows a run, claimed with ``SKIP LOCKED`` and their due
time pushed one grace period ahead in the same transaction, so two sweeps running at once never
send the same item twice and the next sweep leaves it alone until it is overdue again. A re-sent
task that duplicates one still in flight is harmless: tasks re-check state under a row lock and the
backends adopt existing resources by their deterministic names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from workspaces import services
from workspaces.models import Workspace, WorkspaceState

S = WorkspaceState
log = logging.getLogger(__name__)

# name -> sweep(now, limit) -> {count name: n}; higher apps register theirs in AppConfig.ready().
Sweep = Callable[[datetime, int], dict[str, int]]
_SWEEPS: dict[str, Sweep] = {}

TIMED_STATES = (S.PROVISIONING, S.STARTING, S.STOPPING, S.DELETING)


def register(name: str, sweep: Sweep) -> None:
    """Add another app's sweep (idempotent by name)."""
    _SWEEPS[name] = sweep


def task_for(ws: Workspace) -> str:
    """The lifecycle task an in-flight workspace is owed (``services.TASK_NAMES`` key)."""
    if ws.state in (S.REQUESTED, S.APPROVED):
        return "provision_workspace"
    if ws.state == S.PROVISIONING:
        # Without a recorded resource the create call may never have run: provisioning again adopts
        # whatever it built by its deterministic name. With one, only its status is owed.
        return "poll_workspace" if ws.cloud_ref else "provision_workspace"
    return {S.STARTING: "start_workspace", S.STOPPING: "stop_workspace", S.DELETING: "delete_workspace"}[ws.state]


def time_out_workspaces(now: datetime, limit: int) -> int:
    """Fail every operation that has run past its time-out."""
    cutoff = now - timedelta(seconds=services.operation_timeout_seconds())
    ids = list(
        Workspace.objects.filter(state__in=TIMED_STATES, operation_started_at__lt=cutoff).values_list("pk", flat=True)[
            :limit
        ]
    )
    return sum(services.time_out_workspace(str(pk), now) for pk in ids)


def resend_workspaces(now: datetime, limit: int) -> int:
    """Re-send the task of every overdue workspace (claimed under ``SKIP LOCKED``)."""
    with transaction.atomic():
        overdue = list(
            Workspace.objects.select_for_update(skip_locked=True)
            .filter(next_due_at__lte=now)
            .order_by("next_due_at")
            .only("pk", "state", "cloud_ref", "next_due_at")[:limit]
        )
        due = services.due_after(0, now)
        plan = []
        for ws in overdue:
            if ws.state not in services.TRANSITIONAL_STATES:  # stale bookkeeping: owes nothing
                ws.next_due_at = None
            else:
                ws.next_due_at = due
                plan.append((task_for(ws), str(ws.pk)))
        Workspace.objects.bulk_update(overdue, ["next_due_at"])
    for task_name, workspace_id in plan:
        log.info("sweeper: re-sending %s for overdue workspace %s", task_name, workspace_id)
        services.send_task(task_name, workspace_id)
    return len(plan)


def sweep_all(now: datetime | None = None) -> dict[str, int]:
    """One sweep: time-outs first (a timed-out item owes nothing more), then every overdue item."""
    now = now or timezone.now()
    limit = int(settings.ENCLAVE_SWEEP_BATCH)
    counts = {"timed_out": time_out_workspaces(now, limit), "workspaces_resent": resend_workspaces(now, limit)}
    for name, sweep in sorted(_SWEEPS.items()):
        try:
            for key, value in sweep(now, limit).items():
                counts[f"{name}_{key}"] = value
        except Exception:  # one app's failure must not stop the others' healing
            log.exception("sweeper: the %s sweep failed", name)
            counts[f"{name}_errors"] = 1
    return counts
