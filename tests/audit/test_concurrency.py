"""Concurrent appends on PostgreSQL: writers queue on the chain head, so the chain never forks."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from audit.actions import Action
from audit.models import AuditEvent
from audit.services import record
from audit.verification import verify_chain

THREADS = 8
EACH = 500


@pytest.mark.timeout(180)
def test_eight_writers_appending_500_events_each_leave_one_unbroken_chain(transactional_db, require_postgres):
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(EACH):
                record(action=Action.WORKSPACE_STATE_RECONCILED, system_actor=f"task:writer-{n}", details={"i": i})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=170)
    assert not errors, errors
    assert connection.vendor == "postgresql"
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert len(seqs) == THREADS * EACH
    assert seqs == list(range(seqs[0], seqs[0] + THREADS * EACH))
    result = verify_chain()
    assert result.ok, result.broken
    assert result.checked == THREADS * EACH
    assert AuditEvent.objects.values("prev_hash").distinct().count() == THREADS * EACH  # no two events share a parent
