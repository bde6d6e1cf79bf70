"""The periodic verification: records its result; a break is logged and mailed to catalog admins."""

from __future__ import annotations

import logging

import pytest
from django_celery_beat.models import PeriodicTask

from audit.actions import Action, Outcome
from audit.models import AuditEvent
from audit.schedules import VERIFY_TASK, ensure_schedules
from audit.services import record
from audit.tasks import verify_chain_task

pytestmark = pytest.mark.django_db


def test_the_task_records_a_successful_verification_as_an_event(scientist):
    record(action=Action.AUTH_LOGIN, actor=scientist)
    result = verify_chain_task()
    event = AuditEvent.objects.get(seq=result["event_seq"])
    assert event.action == Action.AUDIT_VERIFIED
    assert event.details["checked"] == event.seq - 1
    assert event.details["scope"] == "full"


def test_a_broken_chain_is_recorded_logged_and_mailed_to_catalog_admins(
    scientist, catalog_admin, tamper, mailoutbox, caplog
):
    first = record(action=Action.AUTH_LOGIN, actor=scientist)
    record(action=Action.AUTH_LOGOUT, actor=scientist)
    tamper("UPDATE audit_auditevent SET actor_label = %s WHERE seq = %s", ["someone.else", first.seq])
    with caplog.at_level(logging.ERROR, logger="audit.integrity"), pytest.MonkeyPatch.context() as mp:
        # The test transaction never commits, so run on-commit callbacks (the mail) right away.
        mp.setattr("django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn())
        result = verify_chain_task()
    failed = AuditEvent.objects.get(seq=result["event_seq"])
    assert failed.action == Action.AUDIT_VERIFY_FAILED
    assert failed.outcome == Outcome.ERROR
    assert failed.details["broken"]["seq"] == first.seq
    assert any("AUDIT CHAIN BROKEN" in r.getMessage() for r in caplog.records)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [catalog_admin.email]
    assert f"seq {first.seq}" in mailoutbox[0].subject


def test_ensure_schedules_registers_the_hourly_verification_once(db):
    ensure_schedules()
    ensure_schedules()
    tasks = PeriodicTask.objects.filter(task=VERIFY_TASK)
    assert tasks.count() == 1
    assert tasks.get().interval.every == 60
    assert tasks.get().enabled
