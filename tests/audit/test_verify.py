"""``manage.py audit verify``: proves integrity, and pinpoints the first tampered or removed event."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from audit.actions import Action
from audit.models import AuditEvent
from audit.services import record
from audit.verification import verify_chain

pytestmark = pytest.mark.django_db
requires_postgres = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL trigger")


def _five_events(actor):
    return [
        record(action=Action.WORKSPACE_REQUESTED, actor=actor, target=("workspaces.workspace", str(i), f"ws-{i}"),
               details={"n": i})
        for i in range(5)
    ]  # fmt: skip


def _verify(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_verify_reports_events_checked_and_rate_for_an_intact_chain(scientist):
    _five_events(scientist)
    status, out, _ = _verify()
    assert status == 0
    assert f"OK: {AuditEvent.objects.count()} events checked" in out
    assert "events/s" in out


def test_verify_detects_a_changed_event_at_exactly_its_sequence_number(scientist, tamper):
    events = _five_events(scientist)
    victim = events[2]
    tamper("UPDATE audit_auditevent SET details = %s WHERE seq = %s", ['{"n": 999}', victim.seq])
    status, _, err = _verify()
    assert status == 1
    assert f"audit chain broken at seq {victim.seq}: content does not match its hash" in err
    assert f"found:    {victim.hash}" in err


def test_verify_detects_a_removed_event_as_a_gap_at_its_sequence_number(scientist, tamper):
    events = _five_events(scientist)
    tamper("DELETE FROM audit_auditevent WHERE seq = %s", [events[2].seq])
    status, _, err = _verify()
    assert status == 1
    assert f"audit chain broken at seq {events[2].seq}: sequence gap" in err


def test_verify_from_a_sequence_number_checks_only_the_rest(scientist, tamper):
    events = _five_events(scientist)
    tamper("UPDATE audit_auditevent SET details = %s WHERE seq = %s", ['{"n": 999}', events[0].seq])
    status, out, _ = _verify("--from", str(events[1].seq))
    assert status == 0
    assert "OK: 4 events checked" in out


def test_verify_with_an_expected_tip_detects_removal_of_the_newest_events(scientist, tamper):
    events = _five_events(scientist)
    tip = f"{events[-1].seq}:{events[-1].hash}"
    assert _verify("--expect-tip", tip)[0] == 0
    tamper("DELETE FROM audit_auditevent WHERE seq = %s", [events[-1].seq])
    status, _, err = _verify("--expect-tip", tip)
    assert status == 1
    assert "no such event" in err


def test_rolled_back_savepoint_does_not_leave_a_fork_in_the_chain(scientist):
    with transaction.atomic():
        record(action=Action.AUTH_LOGIN, actor=scientist)

        def inner_change_that_fails() -> None:
            with transaction.atomic():
                record(action=Action.WORKSPACE_REQUESTED, actor=scientist)
                raise RuntimeError("inner change failed")

        with pytest.raises(RuntimeError):
            inner_change_that_fails()
        after = record(action=Action.AUTH_LOGOUT, actor=scientist)
    assert AuditEvent.objects.filter(seq=after.seq - 1).exists()
    assert verify_chain().ok


def test_awkward_content_verifies_identically_on_the_fast_and_portable_paths(scientist):
    from core import context

    agent = 'Agent "quoted" \\ back\tslash \x01 é 𝔘'
    with context.bind(ip="::ffff:192.0.2.7", user_agent=agent, request_id="r-12345678"):
        record(action=Action.AUTH_LOGIN, actor=scientist, target=("x.y", "1", "naïve ✓ \u2028"))
    with context.bind(ip="2001:DB8::1"):
        record(
            action=Action.DATASET_UPDATED,
            actor=scientist,
            details={"f": 1.5e-7, "big": 1e20, "nan": float("nan"), "neg": -0.25, "z": [1, "two", None, True],
                     "Ünï": {"b": "\x00nul", "a": {"deep": [{"k": 2.0}]}}, "10": "key order", "9": "x"},
        )  # fmt: skip
    with context.bind(ip="unknown"):
        record(action=Action.AUTH_LOGOUT, actor=scientist)
    assert verify_chain(fast=False).ok
    if connection.vendor == "postgresql":
        assert verify_chain(fast=True).ok


def test_an_ipv4_mapped_client_address_is_stored_as_ipv4(scientist):
    from core import context

    with context.bind(ip="::ffff:10.1.2.3"):
        event = record(action=Action.AUTH_LOGIN, actor=scientist)
    event.refresh_from_db()
    assert event.actor_ip == "10.1.2.3"


@requires_postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET outcome = 'denied'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
    ],
)
def test_raw_sql_cannot_rewrite_history_on_postgresql(scientist, sql):
    from django.db.utils import DatabaseError

    record(action=Action.AUTH_LOGIN, actor=scientist)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enclave.allow_audit_truncate = 'off'")  # the test runner's flag
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
