"""The workspace app's periodic tasks, registered with django-celery-beat.

``ensure_schedules`` is idempotent: the deployment calls it at every start, and it
creates or updates the rows without duplicating them.
"""

from __future__ import annotations

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

RECONCILE_TASK_NAME = "Reconcile workspaces with the clouds"
RECONCILE_EVERY_MINUTES = 5


def ensure_schedules() -> list[PeriodicTask]:
    """Create or update the reconciliation schedule (every five minutes)."""
    with transaction.atomic():
        every, _ = IntervalSchedule.objects.get_or_create(
            every=RECONCILE_EVERY_MINUTES, period=IntervalSchedule.MINUTES
        )
        task, _ = PeriodicTask.objects.update_or_create(
            name=RECONCILE_TASK_NAME,
            defaults={"task": "workspaces.reconcile", "interval": every, "enabled": True, "crontab": None},
        )
    return [task]
