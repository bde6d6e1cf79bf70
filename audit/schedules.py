"""The audit app's periodic task, registered with django-celery-beat.

``ensure_schedules`` is idempotent: ``manage.py seed_demo`` and the deployment's start-up
call it; it creates or updates the row without duplicating it.
"""

from __future__ import annotations

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

VERIFY_SCHEDULE_NAME = "Verify the audit trail's hash chain"
VERIFY_TASK = "audit.verify_chain"
VERIFY_EVERY_MINUTES = 60


def ensure_schedules() -> list[PeriodicTask]:
    """Create or update the hourly full verification of the audit chain."""
    with transaction.atomic():
        every, _ = IntervalSchedule.objects.get_or_create(every=VERIFY_EVERY_MINUTES, period=IntervalSchedule.MINUTES)
        task, _ = PeriodicTask.objects.update_or_create(
            name=VERIFY_SCHEDULE_NAME,
            defaults={"task": VERIFY_TASK, "interval": every, "enabled": True, "crontab": None},
        )
    return [task]
