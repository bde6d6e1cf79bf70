"""Audit chain: append events/s (one per transaction, and 100 per transaction) and verify events/s.

Targets (DESIGN.md): append >= 5,000 events/s and verify >= 200,000 events/s on PostgreSQL.
Needs ``DATABASE_URL`` pointing at a PostgreSQL server; the benchmark creates and migrates a
scratch database (``enclave_bench`` by default) on that server, and drops it afterwards
unless ``--keep`` is given. Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m benchmarks.audit_chain
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from benchmarks._scratch import postgres_url_or_exit, scratch_database

TARGET_APPEND = 5_000
TARGET_VERIFY = 200_000


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def _details(i: int) -> dict[str, Any]:
    """A realistic event body: a state transition with before/after and a little context."""
    return {
        "before": {"state": "running", "instance_type": "ml.t3.medium"},
        "after": {"state": "stopping", "instance_type": "ml.t3.medium"},
        "workspace": f"ws-{i:08d}",
        "reason": "requested by the owner from the portal",
        "template_version": 3,
    }


def _append(count: int, per_transaction: int, actor: Any) -> float:
    from django.db import transaction

    from audit.actions import Action
    from audit.services import record
    from core import context

    started = time.perf_counter()
    done = 0
    while done < count:
        with transaction.atomic():
            for _ in range(min(per_transaction, count - done)):
                with context.bind(request_id=f"bench-{done:012d}", ip="10.20.30.40", user_agent="bench/1.0"):
                    record(
                        action=Action.WORKSPACE_STOP_REQUESTED,
                        actor=actor,
                        target=("workspaces.workspace", str(done), f"ws-{done:08d}"),
                        details=_details(done),
                    )
                done += 1
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.audit_chain", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events appended in EACH mode (default 100000)")
    parser.add_argument("--database", default="enclave_bench", help="scratch database name (recreated)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    args = parser.parse_args(argv)

    url = postgres_url_or_exit()
    with scratch_database(url, args.database, keep=args.keep):
        from django.contrib.auth import get_user_model
        from django.db import connection

        from audit.verification import verify_chain
        from core.roles import Role, role_group

        actor = get_user_model().objects.create_user(username="bench.scientist", email="bench@bank.example")
        actor.groups.add(role_group(Role.DATA_SCIENTIST))
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            print(f"server: {cursor.fetchone()[0].split(',')[0]}; events per mode: {args.events:,}")

        single = _append(args.events, 1, actor)
        batched = _append(args.events, 100, actor)
        total = 2 * args.events
        started = time.perf_counter()
        result = verify_chain()
        verify = time.perf_counter() - started
        if not result.ok or result.checked != total:
            print(f"verification FAILED: {result.broken} (checked {result.checked} of {total})", file=sys.stderr)
            return 1

        rows = [
            ("append, 1 event per transaction", _rate(args.events, single), TARGET_APPEND),
            ("append, 100 events per transaction", _rate(args.events, batched), TARGET_APPEND),
            ("verify", _rate(total, verify), TARGET_VERIFY),
        ]
        for label, rate, target in rows:
            verdict = "meets" if rate >= target else "BELOW"
            print(f"{label:<36} {rate:>11,.0f} events/s   ({verdict} target {target:,})")
        print(f"verified {result.checked:,} events in {verify:.2f} s, chain tip #{result.last_seq}")
        return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
