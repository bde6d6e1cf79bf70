"""``manage.py audit export`` and the streaming exporter: filtered, constant memory, audited."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest
from django.core.management import call_command

from audit.actions import Action
from audit.exporting import iter_events
from audit.filters import EventFilter
from audit.hashing import canonical_json
from audit.models import AuditEvent
from audit.services import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(scientist, other_scientist):
    record(action=Action.WORKSPACE_REQUESTED, actor=scientist, target=("workspaces.workspace", "7", "ws-7"))
    record(action=Action.WORKSPACE_REQUESTED, actor=other_scientist, target=("workspaces.workspace", "8", "ws-8"))
    record(action=Action.WORKSPACE_STOPPED, actor=scientist, target=("workspaces.workspace", "7", "ws-7"))
    formula = "=cmd|' /C calc'!A0"
    record(action=Action.AUTH_LOGIN_FAILED, system_actor="anonymous", details={"attempted_username": formula})


def _export(tmp_path, *args: str) -> str:
    out = tmp_path / "export.out"
    call_command("audit", "export", "--since", "2000-01-01", "--until", "2999-12-31", *args, "--output", str(out),
                 stderr=io.StringIO())  # fmt: skip
    return out.read_text(encoding="utf-8")


def test_export_by_actor_and_target_writes_only_matching_events_as_json_lines(trail, tmp_path):
    lines = _export(tmp_path, "--actor", "sam.scientist", "--target", "workspaces.workspace:7", "--format", "jsonl")
    events = [json.loads(line) for line in lines.splitlines()]
    assert [(e["actor_label"], e["action"]) for e in events] == [
        ("sam.scientist", "workspace.requested"),
        ("sam.scientist", "workspace.stopped"),
    ]


def test_exported_json_lines_can_be_verified_without_the_database(trail, tmp_path):
    for line in _export(tmp_path, "--format", "jsonl").splitlines():
        event = json.loads(line)
        prev_hash, digest = event.pop("prev_hash"), event.pop("hash")
        assert hashlib.sha256((prev_hash + canonical_json(event)).encode()).hexdigest() == digest


def test_export_is_recorded_with_its_filter_format_and_last_sequence_number(trail, tmp_path):
    last = AuditEvent.objects.latest("seq")
    _export(tmp_path, "--action", "workspace.requested", "--format", "csv")
    exported = AuditEvent.objects.get(action=Action.AUDIT_EXPORTED)
    assert exported.details["format"] == "csv"
    assert exported.details["filter"]["action"] == "workspace.requested"
    assert exported.details["up_to_seq"] == last.seq
    assert exported.actor_label == "cli:manage.py audit export"


def test_csv_export_neutralises_spreadsheet_formulas(trail, tmp_path):
    rows = list(csv.DictReader(io.StringIO(_export(tmp_path, "--action", "auth.login_failed", "--format", "csv"))))
    assert len(rows) == 1
    assert json.loads(rows[0]["details"]) == {"attempted_username": "=cmd|' /C calc'!A0"}  # JSON text is not a formula
    assert rows[0]["actor_label"] == "anonymous"


def test_csv_cells_starting_like_a_formula_get_an_apostrophe():
    from audit.exporting import _csv_cell

    assert _csv_cell("=SUM(A1)") == "'=SUM(A1)"
    assert _csv_cell("@import") == "'@import"
    assert _csv_cell("plain") == "plain"


def test_export_reads_in_fixed_size_batches_so_memory_stays_constant(trail, django_assert_num_queries):
    with django_assert_num_queries(3):  # 4 events, 2 per batch: two full batches and an empty one
        events = list(iter_events(EventFilter(), batch=2))
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert len(events) == 4


def test_export_stops_at_the_sequence_number_it_was_asked_for(trail):
    first = AuditEvent.objects.earliest("seq")
    assert [e["seq"] for e in iter_events(EventFilter(), up_to_seq=first.seq)] == [first.seq]
