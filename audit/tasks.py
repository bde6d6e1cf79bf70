"""The audit trail's periodic tasks, thin: verify the whole chain against its checkpoints
(``audit.integrity.verify_and_record``) and write a signed checkpoint
(``audit.anchoring.services.create_checkpoint``); the rules and alerts live there."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from audit.anchoring.services import CheckpointFailed, create_checkpoint
from audit.integrity import verify_and_record

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


@shared_task(name="audit.checkpoint", acks_late=True, soft_time_limit=50, time_limit=55)
def checkpoint_task() -> dict[str, Any]:
    """Sign the tip into the sink. Each run works from the sink's newest checkpoint, so a lost
    or duplicated run is harmless; a failure is already recorded and alerted by the service."""
    try:
        outcome = create_checkpoint(via="task:audit.checkpoint")
    except CheckpointFailed as exc:
        return {"status": "failed", "reason": str(exc)}
    checkpoint = outcome.checkpoint
    return {
        "status": outcome.status,
        "number": checkpoint.number if checkpoint else None,
        "seq": checkpoint.seq if checkpoint else None,
        "event_seq": outcome.event.seq if outcome.event else None,
    }
