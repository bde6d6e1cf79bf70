"""``manage.py audit verify`` against signed external checkpoints: what a hostile database
superuser can no longer hide — a consistent rewrite, a truncated tail, forged anchors."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from audit.actions import Action
from audit.anchoring.documents import checkpoint_name, parse_checkpoint
from audit.anchoring.services import create_checkpoint
from audit.models import AuditEvent
from audit.services import record
from audit.verification import verify_chain

pytestmark = pytest.mark.django_db


def _events(actor, n: int = 4) -> list[AuditEvent]:
    return [
        record(action=Action.WORKSPACE_REQUESTED, actor=actor, target=("workspaces.workspace", str(i), f"ws-{i}"),
               details={"n": i})
        for i in range(n)
    ]  # fmt: skip


def _verify(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_an_intact_trail_reports_the_checkpoint_it_is_consistent_with(scientist, anchors):
    _events(scientist)
    first = create_checkpoint(via="test").checkpoint
    _events(scientist, 2)
    second = create_checkpoint(via="test").checkpoint
    assert first is not None
    assert second is not None
    record(action=Action.AUTH_LOGIN, actor=scientist)

    status, out, _ = _verify()

    tip = AuditEvent.objects.order_by("-seq")[0]
    assert status == 0
    assert f"chain intact up to seq {tip.seq}" in out
    assert f"consistent with checkpoint 2 (seq {second.seq}, {second.at}" in out
    assert "2 checkpoint(s) matched" in out
    assert f"{tip.seq - second.seq} newer event(s) not yet anchored" in out


def test_a_full_consistent_rewrite_by_a_superuser_fails_at_the_checkpoint_it_contradicts(
    scientist, anchors, consistent_rewrite
):
    events = _events(scientist, 6)
    checkpoint = create_checkpoint(via="test").checkpoint
    assert checkpoint is not None
    _events(scientist, 2)

    consistent_rewrite(events[1].seq, {"n": 1, "justification": "forged after the fact"})

    assert verify_chain().ok, "the rewrite is consistent: the chain alone cannot see it"
    status, _, err = _verify()
    assert status == 1
    assert f"audit chain broken at seq {checkpoint.seq}" in err
    assert f"rewritten at or before this event since checkpoint 1 (seq {checkpoint.seq}, {checkpoint.at})" in err
    assert f"expected: {checkpoint.hash}" in err


def test_the_next_checkpoint_refuses_a_rewritten_trail_and_alerts(
    scientist, auditor, catalog_admin, anchors, consistent_rewrite, mailoutbox, django_capture_on_commit_callbacks
):
    from audit.anchoring.services import CheckpointFailed

    events = _events(scientist, 3)
    create_checkpoint(via="test")
    consistent_rewrite(events[0].seq, {"n": "forged"})

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CheckpointFailed, match="checkpoint 1"):
        create_checkpoint(via="test")

    failed = AuditEvent.objects.filter(action=Action.AUDIT_CHECKPOINT_FAILED).get()
    assert "no longer matches checkpoint 1" in failed.details["reason"]
    assert len(mailoutbox) == 1
    assert sorted(mailoutbox[0].to) == sorted([auditor.email, catalog_admin.email])
    assert not anchors.entries("checkpoints/", start_after=checkpoint_name(1)), "nothing signed over the rewrite"


def test_a_truncated_tail_is_reported(scientist, anchors, tamper):
    _events(scientist, 5)
    checkpoint = create_checkpoint(via="test").checkpoint
    assert checkpoint is not None
    tamper("DELETE FROM audit_auditevent WHERE seq > %s", [checkpoint.seq - 2])

    status, _, err = _verify()

    assert status == 1
    assert (
        f"truncated tail: checkpoint 1 (seq {checkpoint.seq}, {checkpoint.at}) anchors seq {checkpoint.seq}, "
        f"but the trail ends at seq {checkpoint.seq - 2}" in err
    )


def test_a_checkpoint_with_a_bad_signature_is_reported(scientist, anchors):
    _events(scientist)
    checkpoint = create_checkpoint(via="test").checkpoint
    assert checkpoint is not None
    path = anchors.root / checkpoint_name(1)
    doc = json.loads(path.read_bytes())
    doc["body"]["hash"] = "f" * 64  # what an attacker who cannot sign would have to do
    path.chmod(0o644)
    path.write_text(json.dumps(doc))

    status, _, err = _verify()

    assert status == 1
    assert "checkpoint 1" in err
    assert "bad signature" in err


def test_a_checkpoint_signed_by_an_unknown_key_is_reported(scientist, anchors, settings, signing_key):
    _events(scientist)
    create_checkpoint(via="test")
    _events(scientist, 1)
    (anchors.root / "keys").chmod(0o755)
    for key_file in (anchors.root / "keys").iterdir():
        key_file.chmod(0o644)
        key_file.unlink()  # possible in a directory sink; S3 Object Lock refuses it

    status, _, err = _verify()

    assert status == 1
    assert "signed by unknown key" in err


def test_a_missing_checkpoint_is_reported(scientist, anchors):
    for _ in range(3):
        _events(scientist, 1)
        create_checkpoint(via="test")
    (anchors.root / checkpoint_name(2)).unlink()

    status, _, err = _verify()

    assert status == 1
    assert "checkpoint 2 missing from the sink" in err


def test_after_key_rotation_old_checkpoints_verify_against_the_key_that_signed_them(scientist, anchors, settings):
    from audit.anchoring.signing import Ed25519Signer

    _events(scientist)
    old = create_checkpoint(via="test").checkpoint
    new_signer = Ed25519Signer.generate()
    settings.ENCLAVE_AUDIT_SIGNING_KEY = new_signer.private_pem().decode()
    _events(scientist, 2)
    new = create_checkpoint(via="test").checkpoint
    assert old is not None
    assert new is not None

    status, out, _ = _verify()

    assert status == 0, out
    assert old.key_id != new.key_id == new_signer.key_id
    assert new.prev_checkpoint == old.digest
    assert f"consistent with checkpoint 2 (seq {new.seq}" in out
    assert AuditEvent.objects.filter(action=Action.AUDIT_SIGNING_KEY_INTRODUCED).count() == 2
    assert len(list((anchors.root / "keys").iterdir())) == 2


def test_expect_tip_still_detects_removal_of_the_newest_events(scientist, anchors, tamper):
    events = _events(scientist)
    tip = f"{events[-1].seq}:{events[-1].hash}"
    assert _verify("--expect-tip", tip)[0] == 0
    tamper("DELETE FROM audit_auditevent WHERE seq = %s", [events[-1].seq])
    status, _, err = _verify("--expect-tip", tip)
    assert status == 1
    assert "no such event" in err


def test_stored_checkpoints_are_signed_documents_naming_their_predecessor(scientist, anchors):
    _events(scientist)
    first = create_checkpoint(via="test").checkpoint
    _events(scientist, 1)
    create_checkpoint(via="test")
    stored = parse_checkpoint((anchors.root / checkpoint_name(2)).read_bytes())
    assert first is not None
    assert stored.prev_checkpoint == first.digest
    assert oct((anchors.root / checkpoint_name(2)).stat().st_mode & 0o777) == "0o444"
