"""The workspace app's periodic task: reconciliation of the clouds with the database
every five minutes (registered by ``core.schedules``)."""

from __future__ import annotations

from django_celery_beat.models import PeriodicTask

from core.schedules import Schedule, register

RECONCILE_TASK_NAME = "Reconcile workspaces with the clouds"
RECONCILE_EVERY_MINUTES = 5

SCHEDULES: tuple[Schedule, ...] = ((RECONCILE_TASK_NAME, "workspaces.reconcile", RECONCILE_EVERY_MINUTES),)


def ensure_schedules() -> list[PeriodicTask]:
    """Create or update the reconciliation schedule (idempotent)."""
    return register(SCHEDULES)
