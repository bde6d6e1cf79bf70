"""The workspace app's periodic tasks (registered by ``core.schedules``): the sweeper, which
re-sends overdue work every minute, and reconciliation of the clouds with the database every
five minutes."""

from __future__ import annotations

from django.conf import settings
from django_celery_beat.models import PeriodicTask

from core.schedules import Schedule, register

RECONCILE_TASK_NAME = "Reconcile workspaces with the clouds"
RECONCILE_EVERY_MINUTES = 5
SWEEP_TASK_NAME = "Sweep overdue work"
SWEEP_TASK = "workspaces.sweep"

SCHEDULES: tuple[Schedule, ...] = (
    (RECONCILE_TASK_NAME, "workspaces.reconcile", RECONCILE_EVERY_MINUTES),
    (SWEEP_TASK_NAME, SWEEP_TASK, int(settings.ENCLAVE_SWEEP_EVERY_MINUTES)),
)


def ensure_schedules() -> list[PeriodicTask]:
    """Create or update the sweeper and reconciliation schedules (idempotent)."""
    return register(SCHEDULES)
