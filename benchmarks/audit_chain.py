"""Audit chain: append (1 and 100 events per transaction) and verify, each against its floor.

Floors, measured in the same run on the same database: the same rows INSERTed into a table of
the same shape (columns, indexes, constraints) without the chain — one row + COMMIT per
transaction (the commit-flush floor), one multi-row INSERT of 100 rows per transaction — and
the chain's rows streamed out of PostgreSQL through a server-side cursor. Floor and chain run
in alternating chunks, so a neighbour's load on this shared machine hits both alike.
Targets (issue 16): append 1/tx >= 0.8x its floor, 100/tx >= 0.5x, verify >= 0.5x. Needs
``DATABASE_URL`` pointing at PostgreSQL (a scratch database is created and dropped). Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m benchmarks.audit_chain
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks._report import Row, standard_main
from benchmarks._scratch import postgres_url_or_exit, scratch_database

PLAIN = "bench_plain_event"
CHUNK = 500


def _details(i: int) -> dict[str, Any]:
    """A realistic event body: a state transition with before/after and a little context."""
    return {
        "before": {"state": "running", "instance_type": "ml.t3.medium"},
        "after": {"state": "stopping", "instance_type": "ml.t3.medium"},
        "workspace": f"ws-{i:08d}",
        "reason": "requested by the owner from the portal",
        "template_version": 3,
    }


def _append(start: int, count: int, per_transaction: int, actor: Any) -> float:
    from django.db import transaction

    from audit.actions import Action
    from audit.services import record
    from core import context

    started = time.perf_counter()
    done = 0
    while done < count:
        with transaction.atomic():
            for _ in range(min(per_transaction, count - done)):
                i = start + done
                with context.bind(request_id=f"bench-{i:012d}", ip="10.20.30.40", user_agent="bench/1.0"):
                    record(
                        action=Action.WORKSPACE_STOP_REQUESTED,
                        actor=actor,
                        target=("workspaces.workspace", str(i), f"ws-{i:08d}"),
                        details=_details(i),
                    )
                done += 1
    return time.perf_counter() - started


def _plain_rows(start: int, count: int, actor: Any) -> list[list[Any]]:
    """Rows like the chain's, ready for the driver (built untimed: the floor is the database's)."""
    from django.db import connection

    from audit.models import AuditEvent

    fields = list(AuditEvent._meta.concrete_fields)
    rows = []
    now = datetime.now(UTC)
    for i in range(start, start + count):
        event = AuditEvent(
            seq=i + 1, at=now, actor_id=actor.pk, actor_label=actor.username, actor_roles=["data_scientist"],
            actor_ip="10.20.30.40", user_agent="bench/1.0", action="workspace.stop_requested",
            target_type="workspaces.workspace", target_id=str(i), target_display=f"ws-{i:08d}", outcome="success",
            details=_details(i), request_id=f"bench-{i:012d}", prev_hash=f"{i:064x}", hash=f"{i + 1:064x}",
        )  # fmt: skip
        rows.append([f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields])
    return rows


def _plain_insert(rows: list[list[Any]], per_transaction: int) -> float:
    from django.db import connection, transaction

    from audit.models import AuditEvent

    columns = ", ".join(str(f.column) for f in AuditEvent._meta.concrete_fields)
    one = "(" + ", ".join(["%s"] * len(AuditEvent._meta.concrete_fields)) + ")"
    started = time.perf_counter()
    for at in range(0, len(rows), per_transaction):
        batch = rows[at : at + per_transaction]
        with transaction.atomic(), connection.cursor() as cursor:
            sql = f"INSERT INTO {PLAIN} ({columns}) VALUES {', '.join([one] * len(batch))}"
            cursor.execute(sql, [v for row in batch for v in row])
    return time.perf_counter() - started


def _stream(table: str) -> tuple[int, float]:
    """Every row of ``table`` in seq order through a server-side cursor: the read floor."""
    from django.db import connection, transaction

    started = time.perf_counter()
    n = 0
    with transaction.atomic():
        raw = connection.connection
        with raw.cursor(name="bench_stream") as cursor:
            cursor.itersize = 5_000
            cursor.execute(f"SELECT * FROM {table} ORDER BY seq")
            for _ in cursor:
                n += 1
    return n, time.perf_counter() - started


def _interleaved(events: int, per_transaction: int, actor: Any, offset: int) -> tuple[float, float]:
    """(chain seconds, floor seconds) for ``events`` events, in alternating chunks."""
    chain = floor = 0.0
    chunk = max(CHUNK - CHUNK % per_transaction, per_transaction)
    done = 0
    while done < events:
        n = min(chunk, events - done)
        rows = _plain_rows(offset + done, n, actor)
        floor += _plain_insert(rows, per_transaction)
        chain += _append(offset + done, n, per_transaction, actor)
        done += n
    return chain, floor


def run(quick: bool, database: str = "enclave_bench_audit") -> list[Row]:
    # One commit-flush per event bounds the 1/tx mode at a few hundred events/s on this kind of machine.
    events = 200 if quick else 2_000
    batched_events = 300 if quick else 10_000
    url = postgres_url_or_exit()
    with scratch_database(url, database):
        from django.contrib.auth import get_user_model
        from django.db import connection

        from audit.models import AuditEvent
        from audit.verification import verify_chain
        from core.roles import Role, role_group

        actor = get_user_model().objects.create_user(username="bench.scientist", email="bench@bank.example")
        actor.groups.add(role_group(Role.DATA_SCIENTIST))
        table = AuditEvent._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE {PLAIN} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)"
            )
            cursor.execute(
                f"ALTER TABLE {PLAIN} ADD FOREIGN KEY (actor_id) REFERENCES {get_user_model()._meta.db_table} (id)"
            )
        _append(0, 50, 1, actor)  # warm caches and the chain head
        _plain_insert(_plain_rows(10_000_000, 50, actor), 1)

        single, single_floor = _interleaved(events, 1, actor, 100)
        batched, batched_floor = _interleaved(batched_events, 100, actor, 100 + events)
        total = AuditEvent.objects.count()
        stream_rows, stream_s = _stream(table)
        started = time.perf_counter()
        result = verify_chain()
        verify_s = time.perf_counter() - started
        if not result.ok or result.checked != total:
            print(f"verification FAILED: {result.broken} (checked {result.checked} of {total})", file=sys.stderr)
            raise SystemExit(1)
        print(
            f"{events:,} events 1/tx, {batched_events:,} in 100/tx; "
            f"verified {result.checked:,} events, tip #{result.last_seq}"
        )
    return [
        Row("audit append, 1 event/transaction", "INSERT+COMMIT/s", events / single_floor, events / single,
            "events/s", True, 0.8, ">= 0.8x floor"),
        Row("audit append, 100 events/transaction", "multi-row INSERT/s", batched_events / batched_floor,
            batched_events / batched,
            "events/s", True, 0.5, ">= 0.5x floor"),
        Row("audit verify", "cursor stream/s", stream_rows / stream_s, result.checked / verify_s,
            "events/s", True, 0.5, ">= 0.5x floor"),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    return standard_main("python -m benchmarks.audit_chain", __doc__, run, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
