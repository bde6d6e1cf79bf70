"""Recomputing the hash chain to prove nobody changed, removed or reordered an event."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import QuerySet

from audit.hashing import GENESIS, chain_hash, event_payload
from audit.models import AuditEvent

BATCH = 5000


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str
    expected: str
    found: str

    def __str__(self) -> str:
        return f"chain broken at seq {self.seq}: {self.reason} (expected {self.expected}, found {self.found})"


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    first_seq: int | None
    last_seq: int | None
    last_hash: str
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "actor_roles",
    "actor_ip",
    "user_agent",
    "action",
    "target_type",
    "target_id",
    "target_display",
    "outcome",
    "details",
    "request_id",
    "prev_hash",
    "hash",
)


def _rows(qs: QuerySet[AuditEvent], from_seq: int) -> Iterator[tuple]:  # type: ignore[type-arg]
    """Keyset pagination: constant memory whatever the length of the trail."""
    cursor = from_seq - 1
    while True:
        batch = list(qs.filter(seq__gt=cursor).order_by("seq").values_list(*_FIELDS)[:BATCH])
        if not batch:
            return
        yield from batch
        cursor = batch[-1][0]


def verify_chain(from_seq: int = 1) -> VerifyResult:
    """Walk the trail from ``from_seq``; report the first break exactly."""
    qs = AuditEvent.objects.all()
    expected_prev: str | None = None
    if from_seq <= 1:
        from_seq = 1
        expected_prev = GENESIS
    else:
        prev = qs.filter(seq=from_seq - 1).values_list("hash", flat=True).first()
        expected_prev = prev  # None if the predecessor itself is missing
    expected_seq = from_seq
    checked = 0
    first = last = None
    last_hash = expected_prev or ""
    for row in _rows(qs, from_seq):
        (
            seq,
            at,
            actor_id,
            label,
            roles,
            ip,
            ua,
            action,
            ttype,
            tid,
            tdisp,
            outcome,
            details,
            rid,
            prev_hash,
            digest,
        ) = row
        first = seq if first is None else first
        if seq != expected_seq:
            return VerifyResult(
                checked, first, last, last_hash, ChainBreak(expected_seq, "sequence gap", str(expected_seq), str(seq))
            )
        if expected_prev is not None and prev_hash != expected_prev:
            return VerifyResult(
                checked, first, last, last_hash, ChainBreak(seq, "prev_hash does not link", expected_prev, prev_hash)
            )
        payload = event_payload(
            seq=seq, at=at, actor_id=actor_id, actor_label=label, actor_roles=roles, actor_ip=ip, user_agent=ua,
            action=action, target_type=ttype, target_id=tid, target_display=tdisp, outcome=outcome,
            details=details, request_id=rid,
        )  # fmt: skip
        recomputed = chain_hash(prev_hash, payload)
        if recomputed != digest:
            return VerifyResult(
                checked, first, last, last_hash, ChainBreak(seq, "content does not match hash", recomputed, digest)
            )
        expected_prev = digest
        expected_seq = seq + 1
        checked += 1
        last = seq
        last_hash = digest
    return VerifyResult(checked, first, last, last_hash, None)
