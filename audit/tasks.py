"""The audit trail's periodic task: verify the whole chain and record the result (thin;
the rule and the alert live in ``audit.services.verify_and_record``)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from audit.services import verify_and_record

# A full walk of a long trail takes longer than the default task limits.
VERIFY_SOFT_LIMIT_SECONDS = 3600


@shared_task(
    name="audit.verify_chain",
    soft_time_limit=VERIFY_SOFT_LIMIT_SECONDS,
    time_limit=VERIFY_SOFT_LIMIT_SECONDS + 300,
    acks_late=True,
)
def verify_chain_task() -> dict[str, Any]:
    """Verify from the first event; a break is recorded, logged and mailed to catalog admins."""
    result, event = verify_and_record(scope="full")
    return {**result.as_dict(), "event_seq": event.seq}
