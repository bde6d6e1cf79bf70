"""What auditors and admins see: the last checkpoint's age and the last verification's result,
and a banner (plus an e-mail and an audit event) when checkpoints stop or verification fails."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from audit.actions import Action
from audit.anchoring.services import create_checkpoint
from audit.integrity import verify_and_record
from audit.models import AuditEvent
from audit.services import record

pytestmark = pytest.mark.django_db


def _page(client, user, name="audit:events", **kwargs):
    client.force_login(user)
    return client.get(reverse(name, kwargs=kwargs or None)).content.decode()


def test_the_auditor_page_shows_the_last_checkpoint_and_its_age(client, auditor, scientist, anchors):
    record(action=Action.AUTH_LOGIN, actor=scientist)
    create_checkpoint(via="test")
    body = _page(client, auditor)
    assert 'data-testid="last-checkpoint"' in body
    assert "Last checkpoint" in body
    assert "current" in body
    assert 'data-testid="integrity-banner"' not in body


def test_a_quiet_trail_after_its_checkpoint_is_not_stale(client, auditor, scientist, anchors):
    record(action=Action.AUTH_LOGIN, actor=scientist)
    create_checkpoint(via="test")
    with time_machine.travel(timezone.now() + timedelta(hours=3)):
        body = _page(client, auditor)
    assert 'data-testid="integrity-banner"' not in body


def test_events_left_unanchored_show_a_banner_to_auditors_and_admins(
    client, auditor, catalog_admin, scientist, anchors
):
    record(action=Action.AUTH_LOGIN, actor=scientist)
    create_checkpoint(via="test")
    record(action=Action.AUTH_LOGOUT, actor=scientist)
    with time_machine.travel(timezone.now() + timedelta(minutes=20)):
        auditor_page = _page(client, auditor)
        admin_page = _page(client, catalog_admin)
        event_page = _page(client, auditor, "audit:event", seq=1)
        dashboard = _page(client, catalog_admin, "dashboard")
    for body in (auditor_page, admin_page, event_page):
        assert 'data-testid="integrity-banner"' in body
        assert "Checkpoints have stopped: events have waited 20 minutes" in body
    assert "STALE" in auditor_page
    assert "ATTENTION: Checkpoints have stopped" in dashboard


def test_a_failing_checkpoint_shows_a_banner_until_one_succeeds(
    client, auditor, scientist, anchors, settings, tmp_path
):
    from audit.anchoring.services import CheckpointFailed

    record(action=Action.AUTH_LOGIN, actor=scientist)
    good_dir = settings.ENCLAVE_AUDIT_ANCHOR_DIR
    (tmp_path / "file").write_text("")
    settings.ENCLAVE_AUDIT_ANCHOR_DIR = str(tmp_path / "file" / "anchors")
    with pytest.raises(CheckpointFailed):
        create_checkpoint(via="test")
    assert "Writing checkpoints is failing since" in _page(client, auditor)
    settings.ENCLAVE_AUDIT_ANCHOR_DIR = good_dir
    create_checkpoint(via="test")
    assert 'data-testid="integrity-banner"' not in _page(client, auditor)


def test_a_failed_verification_is_recorded_mailed_and_bannered(
    client, auditor, catalog_admin, scientist, anchors, tamper, mailoutbox, django_capture_on_commit_callbacks
):
    record(action=Action.AUTH_LOGIN, actor=scientist)
    checkpoint = create_checkpoint(via="test").checkpoint
    assert checkpoint is not None
    tamper("DELETE FROM audit_auditevent WHERE seq >= %s", [checkpoint.seq])

    with django_capture_on_commit_callbacks(execute=True):
        result, event = verify_and_record(scope="full")

    assert not result.ok
    assert event.action == Action.AUDIT_VERIFY_FAILED
    assert any("truncated tail" in p for p in event.details["anchors"]["problems"])
    assert sorted(m for mail in mailoutbox for m in mail.to) == sorted([auditor.email, catalog_admin.email])
    assert "truncated tail" in mailoutbox[0].body
    body = _page(client, auditor)
    assert f"The last integrity verification FAILED (event #{event.seq})" in body


def test_verification_with_anchors_records_the_checkpoint_it_matched(scientist, anchors):
    record(action=Action.AUTH_LOGIN, actor=scientist)
    checkpoint = create_checkpoint(via="test").checkpoint
    assert checkpoint is not None
    result, event = verify_and_record(scope="full")
    assert result.ok
    anchored = AuditEvent.objects.get(seq=event.seq).details["anchors"]
    assert anchored["consistent_with"]["number"] == 1
    assert anchored["consistent_with"]["seq"] == checkpoint.seq
    assert anchored["problems"] == []


def test_checkpoints_that_stopped_fail_the_periodic_verification_and_are_mailed(
    scientist, auditor, anchors, mailoutbox, django_capture_on_commit_callbacks
):
    """E.g. someone disabled the checkpoint schedule: the hourly verification reports and alerts it."""
    from audit.tasks import verify_chain_task

    record(action=Action.AUTH_LOGIN, actor=scientist)
    create_checkpoint(via="test")
    record(action=Action.AUTH_LOGOUT, actor=scientist)
    with (
        time_machine.travel(timezone.now() + timedelta(minutes=30)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = verify_chain_task()

    failed = AuditEvent.objects.get(seq=result["event_seq"])
    assert failed.action == Action.AUDIT_VERIFY_FAILED
    assert any("checkpoints have stopped" in p for p in failed.details["anchors"]["problems"])
    assert len(mailoutbox) == 1
    assert "checkpoints have stopped" in mailoutbox[0].body
