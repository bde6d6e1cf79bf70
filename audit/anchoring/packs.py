"""Building an evidence pack: a zip an auditor verifies offline with ``verify_pack.py``.

Contents::

    events.jsonl        the chain from the event before the period to the checkpoint after it
    checkpoints/*.json  the signed checkpoints, byte for byte as stored in the sink
    keys/*.json         the key history (every public key and when it took effect)
    verify_pack.py      the standalone verifier (standard library + ``cryptography``)
    README.txt          how to verify
    manifest.json       period, filter, counts, the anchor, and the SHA-256 of every file above
    manifest.sig.json   the manifest's Ed25519 signature

Why the slice is wider than the period: an event's hash is sha256(prev_hash + its canonical
JSON), so the chain proves nothing about an event unless every later event up to a signed
checkpoint is there to recompute. The pack therefore runs from the event just *before* the
period (whose earlier time shows the period starts where the pack says) to the first
checkpoint at or after the period's last event (events after the period show it ends there).
A dataset or user filter does not drop events — a dropped event would break the chain — it
flags the events that match (``pack.matches``); the verifier recomputes the flags.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from django.db.models import Max, Min

from audit.anchoring import verify_pack
from audit.anchoring.documents import Checkpoint, canonical
from audit.anchoring.ledger import Ledger
from audit.anchoring.signing import Signer
from audit.exporting import COLUMNS
from audit.hashing import format_at
from audit.models import AuditEvent
from core.errors import ConflictError

PACK_FORMAT = verify_pack.PACK_FORMAT
VERIFIER_SOURCE = Path(verify_pack.__file__)
BATCH = 2000
README = """Enclave audit evidence pack
===========================

This archive proves, without the portal or its database, that the events in events.jsonl are an
unbroken piece of Enclave's hash-chained audit trail, anchored to checkpoints signed with Ed25519
and kept in write-once storage, and that they are complete for the period in manifest.json.

Verify it with Python 3.10+ and the `cryptography` package (nothing else):

    python3 verify_pack.py {name}
    python3 verify_pack.py {name} --trust-key <fingerprint of your organisation's signing key>

Exit status 0 and "VERIFIED" mean the proof holds; anything else names the first problem found.
The signing keys relied on are printed: compare them with the fingerprints your organisation published.
Events flagged "in_period": false lie just outside the period; they are needed to recompute the chain.
With a dataset or user filter, events flagged "matches": true are the ones the filter selects.
"""


class EvidencePackError(ConflictError):
    """The period cannot be packed (no events, or not yet anchored)."""


@dataclass(frozen=True)
class PackSummary:
    period_first: int
    period_last: int
    slice_first: int
    slice_last: int
    in_period: int
    matching: int
    anchor: Checkpoint
    manifest_sha256: str


def period_bounds(since: datetime, until: datetime) -> tuple[int, int]:
    """The first and last seq recorded in [since, until) (one range scan on ``at``)."""
    bounds = AuditEvent.objects.filter(at__gte=since, at__lt=until).aggregate(first=Min("seq"), last=Max("seq"))
    if bounds["first"] is None:
        raise EvidencePackError("No audit events were recorded in that period.")
    return int(bounds["first"]), int(bounds["last"])


def write_pack(
    out: IO[bytes],
    *,
    since: datetime,
    until: datetime,
    dataset: str,
    user: str,
    ledger: Ledger,
    signer: Signer,
    created_by: str,
    created_at: datetime,
    name: str = "evidence.zip",
) -> PackSummary:
    first, last = period_bounds(since, until)
    end = next((c for c in ledger.checkpoints if c.seq >= last), None)
    if end is None:
        raise EvidencePackError(f"No checkpoint anchors seq {last} yet; try again in a minute.")
    stored = AuditEvent.objects.filter(seq=end.seq).values_list("hash", flat=True).first()
    if stored != end.hash:
        raise EvidencePackError(f"The trail no longer matches {end.label}: run `manage.py audit verify`.")
    slice_first = max(1, first - 1)
    checkpoints = _covering(ledger.checkpoints, slice_first, end)
    stamp = created_at.timetuple()[:6]
    files: dict[str, str] = {}
    counts = {"in_period": 0, "matching": 0}
    period = {"since": format_at(since), "until": format_at(until)}
    with ZipFile(out, "w", compression=ZIP_DEFLATED) as archive:

        def add(member: str, data: bytes) -> None:
            archive.writestr(_info(member, stamp), data)
            files[member] = hashlib.sha256(data).hexdigest()

        digest = hashlib.sha256()
        with archive.open(_info(verify_pack.EVENTS, stamp), "w") as stream:
            for line in _event_lines(slice_first, end.seq, period, dataset, user, counts):
                digest.update(line)
                stream.write(line)
        files[verify_pack.EVENTS] = digest.hexdigest()
        for checkpoint in checkpoints:
            add(f"checkpoints/{checkpoint.number:012d}.json", checkpoint.raw)
        for key in ledger.keys:
            add(key.name, key.raw)
        add("verify_pack.py", VERIFIER_SOURCE.read_bytes())
        add("README.txt", README.format(name=name).encode())
        manifest = {
            "format": PACK_FORMAT,
            "created_at": format_at(created_at),
            "created_by": created_by,
            "period": period,
            "filter": {"dataset": dataset, "user": user},
            "events": {
                "first_seq": first,
                "last_seq": last,
                **counts,
                "slice_first_seq": slice_first,
                "slice_last_seq": end.seq,
            },
            "anchor": {"checkpoint": end.number, "seq": end.seq, "hash": end.hash, "at": end.at},
            "files": dict(sorted(files.items())),
        }
        manifest_bytes = canonical(manifest) + b"\n"
        archive.writestr(_info(verify_pack.MANIFEST, stamp), manifest_bytes)
        seal = {"key_id": signer.key_id, "signature": base64.b64encode(signer.sign(manifest_bytes)).decode()}
        archive.writestr(_info(verify_pack.MANIFEST_SIGNATURE, stamp), canonical(seal) + b"\n")
    return PackSummary(
        first, last, slice_first, end.seq, counts["in_period"], counts["matching"], end,
        hashlib.sha256(manifest_bytes).hexdigest(),
    )  # fmt: skip


def _covering(checkpoints: list[Checkpoint], slice_first: int, end: Checkpoint) -> list[Checkpoint]:
    """From the last checkpoint before the slice (continuity of the checkpoint chain) to ``end``."""
    before = [c for c in checkpoints if c.seq < slice_first and c.number < end.number]
    start = before[-1].number if before else min(c.number for c in checkpoints if c.seq >= slice_first)
    return [c for c in checkpoints if start <= c.number <= end.number]


def _event_lines(
    first: int, last: int, period: dict[str, str], dataset: str, user: str, counts: dict[str, int]
) -> Iterator[bytes]:
    qs = AuditEvent.objects.order_by("seq").filter(seq__lte=last)
    after = first - 1
    while True:
        rows = list(qs.filter(seq__gt=after).values_list(*COLUMNS)[:BATCH])
        if not rows:
            return
        for row in rows:
            event: dict[str, Any] = dict(zip(COLUMNS, row, strict=True))
            event["at"] = format_at(event["at"])
            in_period = period["since"] <= event["at"] < period["until"]
            hit = in_period and verify_pack.matches(event, dataset=dataset, user=user)
            counts["in_period"] += in_period
            counts["matching"] += hit
            event["pack"] = {"in_period": in_period, "matches": hit}
            yield (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        after = rows[-1][0]


def _info(name: str, stamp: tuple[int, ...]) -> ZipInfo:
    info = ZipInfo(name, date_time=stamp)  # type: ignore[arg-type]
    info.compress_type = ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info
