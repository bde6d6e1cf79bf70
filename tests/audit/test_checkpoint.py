"""``manage.py audit checkpoint`` and the every-minute beat task: a signed checkpoint of the tip
in the write-once sink, recorded as an audit event; nothing written when nothing is new."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from audit.actions import Action
from audit.anchoring.documents import checkpoint_name, parse_checkpoint, parse_key_record
from audit.anchoring.services import create_checkpoint
from audit.anchoring.signing import get_signer
from audit.hashing import GENESIS
from audit.models import AuditEvent
from audit.schedules import CHECKPOINT_TASK, ensure_schedules
from audit.services import record
from audit.tasks import checkpoint_task

pytestmark = pytest.mark.django_db


def _login(actor) -> AuditEvent:
    return record(action=Action.AUTH_LOGIN, actor=actor)


def test_the_command_signs_the_tip_into_the_sink_and_records_it(scientist, anchors):
    tip = _login(scientist)
    out = io.StringIO()

    call_command("audit", "checkpoint", stdout=out)

    stored = parse_checkpoint((anchors.root / checkpoint_name(1)).read_bytes())
    key = parse_key_record(next((anchors.root / "keys").iterdir()).read_bytes())
    assert (stored.number, stored.seq, stored.hash, stored.prev_checkpoint) == (1, tip.seq, tip.hash, GENESIS)
    assert stored.key_id == key.key_id == get_signer().key_id
    assert stored.signed_by(key.public_key)
    event = AuditEvent.objects.filter(action=Action.AUDIT_CHECKPOINTED).get()
    assert event.details["number"] == 1
    assert event.details["seq"] == tip.seq
    assert event.details["checkpoint_digest"] == stored.digest
    assert event.actor_label == "cli:manage.py audit checkpoint"
    assert f"wrote checkpoint 1 (seq {tip.seq}" in out.getvalue()
    assert AuditEvent.objects.filter(action=Action.AUDIT_SIGNING_KEY_INTRODUCED, details__key_id=key.key_id).exists()


def test_nothing_is_written_when_only_the_last_checkpoint_was_recorded_since(scientist, anchors):
    _login(scientist)
    first = create_checkpoint(via="test")
    again = create_checkpoint(via="test")

    assert first.status == "written"
    assert again.status == "unchanged"
    assert again.checkpoint == first.checkpoint
    assert [e.name for e in anchors.entries("checkpoints/")] == [checkpoint_name(1)]


def test_each_new_checkpoint_links_to_the_previous_one(scientist, anchors):
    _login(scientist)
    first = create_checkpoint(via="test").checkpoint
    _login(scientist)
    second = create_checkpoint(via="test").checkpoint
    assert first is not None
    assert second is not None
    assert second.number == 2
    assert second.prev_checkpoint == first.digest
    assert second.seq == AuditEvent.objects.order_by("-seq")[0].seq - 1  # before its own record


def test_a_checkpoint_number_taken_by_another_process_is_not_overwritten(scientist, anchors, monkeypatch):
    """Two checkpointers race for number 1: the write-once sink refuses the loser's write, and the
    loser re-reads the sink and finds the winner's checkpoint already covers the tip."""
    from audit.anchoring import services

    _login(scientist)
    real = services.latest_checkpoint
    calls = {"n": 0}

    def stale_then_real(sink):
        calls["n"] += 1
        if calls["n"] == 1:  # we look, then the other process writes checkpoint 1 before we do
            monkeypatch.setattr(services, "latest_checkpoint", real)
            assert create_checkpoint(via="other").status == "written"
            monkeypatch.setattr(services, "latest_checkpoint", stale_then_real)
            return None
        return real(sink)

    monkeypatch.setattr(services, "latest_checkpoint", stale_then_real)
    outcome = create_checkpoint(via="test")

    assert calls["n"] == 2
    assert outcome.status == "unchanged"
    assert [e.name for e in anchors.entries("checkpoints/")] == [checkpoint_name(1)]
    assert parse_checkpoint((anchors.root / checkpoint_name(1)).read_bytes()) == outcome.checkpoint


def test_without_a_sink_checkpointing_is_off(scientist, settings):
    settings.ENCLAVE_AUDIT_ANCHOR_SINK = "none"
    _login(scientist)
    assert create_checkpoint(via="test").status == "disabled"
    assert not AuditEvent.objects.filter(action=Action.AUDIT_CHECKPOINTED).exists()


def test_an_empty_trail_needs_no_checkpoint(anchors):
    assert create_checkpoint(via="test").status == "unchanged"
    assert anchors.entries("checkpoints/") == []


def test_the_beat_task_writes_a_checkpoint(scientist, anchors):
    tip = _login(scientist)
    result = checkpoint_task()
    assert result["status"] == "written"
    assert result["seq"] == tip.seq
    assert checkpoint_task()["status"] == "unchanged"


def test_a_failing_sink_is_recorded_and_alerted_once(
    scientist, auditor, anchors, settings, tmp_path, mailoutbox, django_capture_on_commit_callbacks
):
    _login(scientist)
    (tmp_path / "not-a-directory").write_text("")
    settings.ENCLAVE_AUDIT_ANCHOR_DIR = str(tmp_path / "not-a-directory" / "anchors")  # every write fails
    with django_capture_on_commit_callbacks(execute=True):
        first = checkpoint_task()
        second = checkpoint_task()
    assert first["status"] == second["status"] == "failed"
    failures = AuditEvent.objects.filter(action=Action.AUDIT_CHECKPOINT_FAILED)
    assert failures.count() == 2
    assert len(mailoutbox) == 1, "one alert when anchoring starts failing, not one a minute"
    assert mailoutbox[0].to == [auditor.email]
    assert "anchoring FAILED" in mailoutbox[0].subject


def test_the_checkpoint_runs_every_minute_from_beat(db):
    ensure_schedules()
    ensure_schedules()
    task = PeriodicTask.objects.get(task=CHECKPOINT_TASK)
    assert task.interval.every == 1
    assert task.enabled


def test_a_misconfigured_production_sink_fails_loudly(scientist, settings, signing_key):
    from audit.anchoring.services import CheckpointFailed
    from audit.anchoring.verify import verify_anchored

    settings.ENCLAVE_AUDIT_ANCHOR_SINK = "s3"
    settings.ENCLAVE_AUDIT_ANCHOR_BUCKET = ""  # forgotten
    settings.ENCLAVE_AUDIT_SIGNING_KEY = signing_key
    _login(scientist)

    with pytest.raises(CheckpointFailed, match="ENCLAVE_AUDIT_ANCHOR_BUCKET"):
        create_checkpoint(via="test")

    assert AuditEvent.objects.filter(action=Action.AUDIT_CHECKPOINT_FAILED, details__sink="s3").exists()
    result = verify_anchored()
    assert not result.ok
    assert "the anchors cannot be reached" in result.problems[0]
