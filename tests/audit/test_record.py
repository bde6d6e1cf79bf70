"""audit.record: one event per call, chained, inside the caller's transaction."""

from __future__ import annotations

import pytest
from django.db import transaction

from audit.actions import Action, Outcome
from audit.models import AppendOnlyError, AuditEvent
from audit.services import record
from audit.verification import verify_chain
from core import context

pytestmark = pytest.mark.django_db


def test_events_get_consecutive_sequence_numbers_and_link_to_their_predecessor(scientist):
    first = record(action=Action.AUTH_LOGIN, actor=scientist, target=scientist)
    second = record(action=Action.AUTH_LOGOUT, actor=scientist, target=scientist)
    assert second.seq == first.seq + 1
    assert second.prev_hash == first.hash
    assert verify_chain().ok


def test_rollback_of_the_change_drops_its_event(scientist):
    before = AuditEvent.objects.count()

    def change_that_fails() -> None:
        with transaction.atomic():
            record(action=Action.WORKSPACE_REQUESTED, actor=scientist)
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert AuditEvent.objects.count() == before
    record(action=Action.AUTH_LOGIN, actor=scientist)
    assert verify_chain().ok


def test_event_snapshots_actor_roles_ip_and_correlation_id(scientist):
    with context.bind(request_id="req-12345678", ip="10.1.2.3", user_agent="pytest"):
        event = record(action=Action.AUTH_LOGIN, actor=scientist, target=scientist)
    event.refresh_from_db()
    assert event.actor_label == "sam.scientist"
    assert event.actor_roles == ["data_scientist"]
    assert event.actor_ip == "10.1.2.3"
    assert event.request_id == "req-12345678"
    assert event.target_type == "portal.user"


def test_system_events_name_the_acting_task():
    with context.bind(system_actor="task:workspaces.provision"):
        event = record(action=Action.WORKSPACE_RUNNING, outcome=Outcome.SUCCESS)
    assert event.actor is None
    assert event.actor_label == "task:workspaces.provision"


def test_unknown_action_is_refused(scientist):
    with pytest.raises(ValueError, match="not a valid Action"):
        record(action="workspace.teleported", actor=scientist)  # type: ignore[arg-type]


def test_secrets_in_details_are_redacted(scientist):
    event = record(
        action=Action.API_TOKEN_CREATED,
        actor=scientist,
        details={"name": "ci", "token": "enc_abc", "nested": {"client_secret": "s3cr3t", "kms_key_id": "k-1"}},
    )
    event.refresh_from_db()
    assert event.details == {
        "name": "ci",
        "token": "[REDACTED]",
        "nested": {"client_secret": "[REDACTED]", "kms_key_id": "k-1"},
    }
    assert "s3cr3t" not in str(AuditEvent.objects.values_list("details", flat=True)[::1])


def test_model_refuses_update_and_delete(scientist):
    event = record(action=Action.AUTH_LOGIN, actor=scientist)
    event.outcome = Outcome.DENIED
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(seq=event.seq).update(outcome="denied")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
