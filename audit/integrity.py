"""Verifying the audit trail against its external checkpoints and recording the verdict in the trail.

Kept apart from ``audit.services`` (which records events) because it builds on the anchoring
package, which itself records through ``audit.services``: one direction, no circle.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from django.db import transaction

from audit.actions import Action, Outcome
from audit.alerts import integrity_alert
from audit.anchoring.selectors import anchor_status
from audit.anchoring.verify import AnchoredVerification, verify_anchored
from audit.models import AuditEvent
from audit.services import _require_reader, record

logger = logging.getLogger(__name__)


def verify_and_record(
    *, actor: Any = None, from_seq: int = 1, scope: str = "full"
) -> tuple[AnchoredVerification, AuditEvent]:
    """Verify the chain against its external checkpoints and record the result in it
    (``audit.verified`` or ``audit.verify_failed``).

    A failure means someone changed, removed or reordered history, or that the anchors
    themselves are missing or forged: it is logged as an error and mailed to every auditor
    and catalog admin, because the platform team must investigate at once (and an attacker
    able to rewrite the table must not be able to silence it by rewriting the event as well).
    """
    _require_reader(actor, "Verifying the audit trail")
    result = _with_staleness(verify_anchored(from_seq))
    details: dict[str, Any] = {"scope": scope, **result.as_dict()}
    if result.ok:
        event = record(action=Action.AUDIT_VERIFIED, actor=actor, details=details)
        logger.info("audit chain verified: %s", "; ".join(result.report()))
        return result, event
    with transaction.atomic():
        event = record(action=Action.AUDIT_VERIFY_FAILED, actor=actor, outcome=Outcome.ERROR, details=details)
        logger.error("AUDIT CHAIN BROKEN: %s", "; ".join(result.report()))
        _alert_verification_failed(result)
    return result, event


def _with_staleness(result: AnchoredVerification) -> AnchoredVerification:
    """Checkpoints that stopped are a failed control even when every anchor matches: someone may
    have disabled the schedule to rewrite new events unseen, so the periodic verification says so
    (and alerts) instead of leaving it to the banner."""
    status = anchor_status()
    if not status.stale or status.oldest_unanchored_at is None:
        return result
    waited = int((status.now - status.oldest_unanchored_at).total_seconds() // 60)
    problem = f"checkpoints have stopped: events since {status.oldest_unanchored_at:%Y-%m-%d %H:%M} UTC "
    problem += f"({waited} minutes) are not anchored outside the database"
    return dataclasses.replace(result, problems=(*result.problems, problem))


def _alert_verification_failed(result: AnchoredVerification) -> None:
    broken = result.broken
    findings = "\n".join(f"  - {line}" for line in result.report())
    where = f" at seq {broken.seq}" if broken is not None else ""
    body = (
        "Enclave's audit-trail verification found that history was changed, or that its external\n"
        "checkpoints are missing or not validly signed.\n\n"
        f"Findings:\n{findings}\n\n"
    )
    if broken is not None:
        body += (
            f"First broken link: sequence number {broken.seq}\nProblem: {broken.reason}\n"
            f"Expected: {broken.expected}\nFound:    {broken.found}\n\n"
        )
    body += (
        f"Events verified before the break: {result.checked}\n\n"
        "Treat this as a security incident: preserve the database and its backups, and run\n"
        "`manage.py audit verify` to confirm.\n"
    )
    integrity_alert(f"Audit trail integrity FAILED{where}", body)
