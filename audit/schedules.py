"""The audit app's periodic task: the hourly full verification of the hash chain
(registered by ``core.schedules``)."""

from __future__ import annotations

from django_celery_beat.models import PeriodicTask

from core.schedules import Schedule, register

VERIFY_SCHEDULE_NAME = "Verify the audit trail's hash chain"
VERIFY_TASK = "audit.verify_chain"
VERIFY_EVERY_MINUTES = 60

SCHEDULES: tuple[Schedule, ...] = ((VERIFY_SCHEDULE_NAME, VERIFY_TASK, VERIFY_EVERY_MINUTES),)


def ensure_schedules() -> list[PeriodicTask]:
    """Create or update the hourly verification (idempotent)."""
    return register(SCHEDULES)
