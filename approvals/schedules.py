"""The approvals app's periodic tasks: the grant-expiry sweep every minute and the
follow-up sweep (remind, escalate, time out, warn) every 15 minutes (registered by
``core.schedules``)."""

from __future__ import annotations

from django_celery_beat.models import PeriodicTask

from core.schedules import Schedule, register

SCHEDULES: tuple[Schedule, ...] = (
    ("Expire data-access grants", "approvals.expire_grants", 1),
    ("Follow up access requests (remind, escalate, time out, warn)", "approvals.follow_up_requests", 15),
    ("Run access reviews (start, remind, escalate, close)", "approvals.run_access_reviews", 5),
)


def ensure_schedules() -> list[PeriodicTask]:
    """Create or update both sweeps (idempotent)."""
    return register(SCHEDULES)
