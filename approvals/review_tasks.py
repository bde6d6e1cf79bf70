"""Celery tasks of access reviews (registered by ``ApprovalsConfig.ready``): the beat sweep that
starts, follows up and closes review rounds, and review e-mail. Thin: they call the services."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils.dateparse import parse_datetime

from approvals import review_notifications
from approvals.services import reviews


@shared_task(name="approvals.run_access_reviews")
def run_access_reviews(now: str | None = None) -> dict[str, int]:
    """Beat: start due review rounds, remind, escalate, close rounds past their deadline."""
    moment = parse_datetime(now) if now else None
    if now and (moment is None or moment.tzinfo is None):
        raise ValueError(f"now must be an ISO 8601 time with a zone, not {now!r}")
    return reviews.run_reviews(moment)


@shared_task(name="approvals.send_review_notification", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_review_notification(round_id: Any, kind: str) -> int:
    return review_notifications.send(round_id, kind)
