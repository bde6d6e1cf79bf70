"""The audit app's periodic tasks (registered by ``core.schedules``): a signed checkpoint of
the chain's tip every minute, and the hourly full verification against the checkpoints."""

from __future__ import annotations

from django_celery_beat.models import PeriodicTask

from core.schedules import Schedule, register

VERIFY_SCHEDULE_NAME = "Verify the audit trail's hash chain"
VERIFY_TASK = "audit.verify_chain"
VERIFY_EVERY_MINUTES = 60

CHECKPOINT_SCHEDULE_NAME = "Anchor the audit trail: signed checkpoint to write-once storage"
CHECKPOINT_TASK = "audit.checkpoint"
CHECKPOINT_EVERY_MINUTES = 1

SCHEDULES: tuple[Schedule, ...] = (
    (VERIFY_SCHEDULE_NAME, VERIFY_TASK, VERIFY_EVERY_MINUTES),
    (CHECKPOINT_SCHEDULE_NAME, CHECKPOINT_TASK, CHECKPOINT_EVERY_MINUTES),
)


def ensure_schedules() -> list[PeriodicTask]:
    """Create or update the checkpoint and verification schedules (idempotent)."""
    return register(SCHEDULES)
