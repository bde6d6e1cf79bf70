"""Streaming the audit trail out as JSON Lines or CSV in constant memory.

Rows are read by keyset pagination on ``seq`` (never OFFSET, never the whole result),
and every line is written as soon as its batch arrives, so a million events export
without being held in memory. JSON Lines is the verifiable format: each line carries
``prev_hash`` and ``hash``, and ``hash = sha256(prev_hash + canonical JSON of the other
fields except those two)``. CSV is for spreadsheets: text that a spreadsheet would run
as a formula (starting ``= + - @``) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from audit.filters import EventFilter
from audit.hashing import format_at
from audit.models import AuditEvent

FORMATS = ("jsonl", "csv")
CONTENT_TYPES = {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8"}
BATCH = 2000
CHUNK = 64 * 1024  # characters per streamed chunk
COLUMNS = (
    "seq", "at", "actor_id", "actor_label", "actor_roles", "actor_ip", "user_agent", "action", "target_type",
    "target_id", "target_display", "outcome", "details", "request_id", "prev_hash", "hash",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def iter_events(flt: EventFilter, *, up_to_seq: int | None = None, batch: int = BATCH) -> Iterator[dict[str, Any]]:
    """Matching events in ``seq`` order as plain dicts, ``batch`` rows per query."""
    qs = flt.apply(AuditEvent.objects.all()).order_by("seq")
    if up_to_seq is not None:
        qs = qs.filter(seq__lte=up_to_seq)
    after = 0
    while True:
        rows = list(qs.filter(seq__gt=after).values_list(*COLUMNS)[:batch])
        if not rows:
            return
        for row in rows:
            event = dict(zip(COLUMNS, row, strict=True))
            event["at"] = format_at(event["at"])
            yield event
        after = rows[-1][0]


def _csv_cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def render(events: Iterator[dict[str, Any]], fmt: str) -> Iterator[str]:
    """Text chunks of the export (a header first for CSV)."""
    if fmt == "jsonl":
        lines: list[str] = []
        size = 0
        for event in events:
            line = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
            lines.append(line)
            size += len(line)
            if size > CHUNK:
                yield "".join(lines)
                lines, size = [], 0
        yield "".join(lines)
        return
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for event in events:
        writer.writerow([_csv_cell(event[c]) for c in COLUMNS])
        if buffer.tell() > CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
