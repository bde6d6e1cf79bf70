"""Recomputing the hash chain to prove nobody changed, removed or reordered an event.

Each row is checked three ways: its ``seq`` follows the previous one (a gap means a
removed row), its ``prev_hash`` equals the previous row's ``hash`` (a broken link), and
its ``hash`` equals sha256(prev_hash + canonical JSON of its content) (a changed row).
Rows are read by keyset pagination, so memory stays constant whatever the length.

On PostgreSQL the database renders every fixed part of the canonical JSON (``to_json``
escapes strings exactly as Python's ``json`` does with ``ensure_ascii=False``), so Python
only re-serialises ``details`` and hashes; elsewhere the event is rebuilt in Python.
Both paths produce ``hashing.canonical_json(hashing.event_payload(...))`` exactly.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Generator, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection

from audit.hashing import GENESIS, canonical_json, event_payload
from audit.models import AuditEvent

BATCH = 5_000
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_TABLE = AuditEvent._meta.db_table


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
    seconds: float = field(default=0.0, compare=False)
    anchors_matched: int = 0  # external checkpoints whose (seq, hash) the walk confirmed

    @property
    def ok(self) -> bool:
        return self.broken is None

    @property
    def rate(self) -> float:
        """Events checked per second."""
        return self.checked / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["seconds"] = round(self.seconds, 3)
        data["events_per_second"] = round(self.rate)
        return data


# --- reading rows --------------------------------------------------------------------------

_PORTABLE_FIELDS = (
    "seq", "at", "actor_id", "actor_label", "actor_roles", "actor_ip", "user_agent", "action", "target_type",
    "target_id", "target_display", "outcome", "details", "request_id", "prev_hash", "hash",
)  # fmt: skip


def _pg_fragment(key: str) -> str:
    """SQL rendering one payload value as canonical JSON text (PostgreSQL)."""
    if key == "seq":
        return "seq::text"
    if key == "actor_id":
        return "coalesce(actor_id::text, 'null')"
    if key == "at":
        return """to_json(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text"""
    if key == "actor_ip":
        return "coalesce(to_json(abbrev(actor_ip))::text, 'null')"
    return f"to_json({key})::text"


def _pg_select() -> str:
    """One row = (seq, prev_hash, hash, head, actor_roles, middle, details, tail) where the
    canonical text is head + canon(actor_roles) + middle + canon(details) + tail, and head
    already starts with prev_hash (what the hash covers)."""
    keys = sorted(_payload_keys())
    parts: list[list[str]] = [[]]
    for i, key in enumerate(keys):
        prefix = "{" if i == 0 else ","
        parts[-1].append(f"'{prefix}\"{key}\":'")
        if key in {"actor_roles", "details"}:
            parts.append([])
        else:
            parts[-1].append(_pg_fragment(key))
    parts[-1].append("'}'")
    head, middle, tail = (" || ".join(p) for p in parts)
    return (
        f"SELECT seq, prev_hash, hash, prev_hash || {head}, actor_roles, {middle}, details, {tail} "  # noqa: S608
        f"FROM {_TABLE} WHERE seq > %s ORDER BY seq LIMIT %s"
    )


def _payload_keys() -> list[str]:
    sample = event_payload(
        seq=1, at=_EPOCH, actor_id=None, actor_label="", actor_roles=[], actor_ip=None, user_agent="", action="",
        target_type="", target_id="", target_display="", outcome="", details={}, request_id="",
    )  # fmt: skip
    return list(sample)


def _pg_rows(after: int) -> Generator[tuple[Any, ...], None, None]:
    with connection.cursor() as cursor:
        while True:
            cursor.execute(_PG_SELECT, [after, BATCH])
            batch = cursor.fetchall()
            if not batch:
                return
            yield from batch
            after = batch[-1][0]


def _portable_rows(after: int) -> Generator[tuple[Any, ...], None, None]:
    qs = AuditEvent.objects.order_by("seq")
    while True:
        batch = list(qs.filter(seq__gt=after).values_list(*_PORTABLE_FIELDS)[:BATCH])
        if not batch:
            return
        yield from batch
        after = batch[-1][0]


_PG_SELECT = _pg_select()
_CANON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_LOADS = json.JSONDecoder().decode
_sha256 = hashlib.sha256


def _checked_pg(after: int) -> Generator[tuple[int, str, str, str], None, None]:
    """(seq, prev_hash, hash, recomputed hash) per row, PostgreSQL fast path."""
    roles_cache: dict[str, str] = {}
    with closing(_pg_rows(after)) as rows:
        for seq, prev_hash, digest, head, roles, middle, details, tail in rows:
            canon_roles = roles_cache.get(roles)
            if canon_roles is None:
                canon_roles = roles_cache[roles] = _CANON(_LOADS(roles))
            canon_details = "{}" if details == "{}" else _CANON(_LOADS(details))
            recomputed = _sha256((head + canon_roles + middle + canon_details + tail).encode()).hexdigest()
            yield seq, prev_hash, digest, recomputed


def _checked_portable(after: int) -> Generator[tuple[int, str, str, str], None, None]:
    for row in _portable_rows(after):
        seq, at, actor_id, label, roles, ip, ua, action, ttype, tid, tdisp, outcome, details, rid, prev, digest = row
        payload = event_payload(
            seq=seq, at=at, actor_id=actor_id, actor_label=label, actor_roles=roles, actor_ip=ip, user_agent=ua,
            action=action, target_type=ttype, target_id=tid, target_display=tdisp, outcome=outcome,
            details=details, request_id=rid,
        )  # fmt: skip
        recomputed = _sha256((prev + canonical_json(payload)).encode()).hexdigest()
        yield seq, prev, digest, recomputed


Anchor = tuple[int, str, str]  # (seq, hash, label): a signed checkpoint's claim about one event


def verify_chain(from_seq: int = 1, *, fast: bool | None = None, anchors: Sequence[Anchor] = ()) -> VerifyResult:
    """Walk the trail from ``from_seq`` to its end; report the first break exactly.

    Starting after 1 trusts the predecessor's stored hash as the anchor (its own
    integrity was proven by an earlier full run); a missing predecessor is a gap.

    ``anchors`` (ascending by seq) are hashes held outside the database: a row whose
    stored hash differs from its anchor's was rewritten after it was anchored, even when
    every link recomputes (a consistent rewrite by someone with the hashing code).
    """
    started = time.perf_counter()
    from_seq = max(from_seq, 1)
    expected_prev: str | None = GENESIS
    if from_seq > 1:
        expected_prev = AuditEvent.objects.filter(seq=from_seq - 1).values_list("hash", flat=True).first()
    use_fast = connection.vendor == "postgresql" if fast is None else fast
    rows = _checked_pg(from_seq - 1) if use_fast else _checked_portable(from_seq - 1)

    expected_seq = from_seq
    checked = 0
    first: int | None = None
    last_hash = expected_prev or ""
    pending = [a for a in anchors if a[0] >= from_seq]
    anchor_index = 0
    anchor_seq = pending[0][0] if pending else -1

    def result(broken: ChainBreak | None) -> VerifyResult:
        last = expected_seq - 1 if checked else None
        elapsed = time.perf_counter() - started
        return VerifyResult(checked, first, last, last_hash, broken, elapsed, anchors_matched=anchor_index)

    with closing(rows):  # release the cursor at once on an early return
        for seq, prev_hash, digest, recomputed in rows:
            if first is None:
                first = seq
                if expected_prev is None:
                    return result(ChainBreak(from_seq - 1, "sequence gap: event missing", "present", "missing"))
            if seq != expected_seq:
                gap = ChainBreak(expected_seq, "sequence gap: event missing", f"seq {expected_seq}", f"seq {seq}")
                return result(gap)
            if prev_hash != expected_prev:
                return result(
                    ChainBreak(seq, "prev_hash does not link to the previous event", str(expected_prev), prev_hash)
                )
            if recomputed != digest:
                return result(ChainBreak(seq, "content does not match its hash", recomputed, digest))
            while seq == anchor_seq:
                _, anchored, label = pending[anchor_index]
                if digest != anchored:
                    reason = f"rewritten at or before this event since {label} was signed"
                    return result(ChainBreak(seq, reason, anchored, digest))
                anchor_index += 1
                anchor_seq = pending[anchor_index][0] if anchor_index < len(pending) else -1
            expected_prev = last_hash = digest
            expected_seq = seq + 1
            checked += 1
    return result(None)
