"""Reads for the auditor pages: how fresh the anchoring is and whether anything needs a banner.

Read from the trail's own ``audit.checkpointed`` / ``audit.checkpoint_failed`` events (a few
index lookups on (action, seq)), never from the sink, so a page costs no S3 call. The events
are a display; ``manage.py audit verify`` is the proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from audit.actions import Action
from audit.anchoring.services import OWN_RECORDS
from audit.models import AuditEvent
from audit.services import LatestVerification, latest_verification


@dataclass(frozen=True)
class AnchorStatus:
    enabled: bool
    sink_kind: str
    last: AuditEvent | None  # the newest audit.checkpointed event
    failure: AuditEvent | None  # the newest audit.checkpoint_failed, if nothing succeeded since
    oldest_unanchored_at: datetime | None
    verification: LatestVerification
    stale_after: timedelta
    now: datetime

    @property
    def age(self) -> timedelta | None:
        return self.now - self.last.at if self.last is not None else None

    @property
    def stale(self) -> bool:
        """Events have waited longer than the stale limit for a checkpoint."""
        return (
            self.enabled
            and self.oldest_unanchored_at is not None
            and self.now - self.oldest_unanchored_at > self.stale_after
        )

    @property
    def alerts(self) -> list[str]:
        """What the banner says (empty: no banner)."""
        out = []
        if self.verification.ok is False:
            assert self.verification.event is not None
            out.append(f"The last integrity verification FAILED (event #{self.verification.event.seq}).")
        if self.failure is not None:
            reason = self.failure.details.get("reason", "")
            out.append(f"Writing checkpoints is failing since {self.failure.at:%d %b %H:%M} UTC: {reason}")
        if self.stale:
            assert self.oldest_unanchored_at is not None
            minutes = int((self.now - self.oldest_unanchored_at).total_seconds() // 60)
            out.append(
                f"Checkpoints have stopped: events have waited {minutes} minutes to be anchored outside the database."
            )
        return out


def anchor_status(now: datetime | None = None) -> AnchorStatus:
    now = now or timezone.now()
    kind = settings.ENCLAVE_AUDIT_ANCHOR_SINK
    last = AuditEvent.objects.filter(action=Action.AUDIT_CHECKPOINTED.value).order_by("-seq").first()
    failure = AuditEvent.objects.filter(action=Action.AUDIT_CHECKPOINT_FAILED.value).order_by("-seq").first()
    if failure is not None and last is not None and last.seq > failure.seq:
        failure = None
    # The checkpoint's own records (key introduction, audit.checkpointed) wait for the next one by design.
    unanchored = AuditEvent.objects.order_by("seq").exclude(action__in=OWN_RECORDS)
    if last is not None:
        covered = last.details.get("seq", 0)
        unanchored = unanchored.filter(seq__gt=covered if isinstance(covered, int) else 0)
    oldest = unanchored.values_list("at", flat=True).first()
    return AnchorStatus(
        enabled=kind != "none",
        sink_kind=kind,
        last=last,
        failure=failure,
        oldest_unanchored_at=oldest,
        verification=latest_verification(),
        stale_after=timedelta(minutes=settings.ENCLAVE_AUDIT_CHECKPOINT_STALE_MINUTES),
        now=now,
    )
