"""The approvals app's periodic tasks, registered with django-celery-beat.

``ensure_schedules`` is idempotent: the deployment calls it at every start, and it creates
or updates the rows without duplicating them.
"""

from __future__ import annotations

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

SCHEDULES = (
    # (name, task, every minutes)
    ("Expire data-access grants", "approvals.expire_grants", 1),
    ("Follow up access requests (remind, escalate, time out, warn)", "approvals.follow_up_requests", 15),
)


def ensure_schedules() -> list[PeriodicTask]:
    """Create or update the expiry sweep (every minute) and the follow-up sweep (every 15 minutes)."""
    tasks = []
    with transaction.atomic():
        for name, task, minutes in SCHEDULES:
            every, _ = IntervalSchedule.objects.get_or_create(every=minutes, period=IntervalSchedule.MINUTES)
            periodic, _ = PeriodicTask.objects.update_or_create(
                name=name, defaults={"task": task, "interval": every, "enabled": True, "crontab": None}
            )
            tasks.append(periodic)
    return tasks
