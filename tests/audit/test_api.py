"""/api/v1/audit-events: auditors read, filter and page with a cursor; nobody writes."""

from __future__ import annotations

import pytest

from audit.actions import Action, Outcome
from audit.models import AuditEvent
from audit.services import record

pytestmark = pytest.mark.django_db
URL = "/api/v1/audit-events"


def test_auditor_pages_through_events_newest_first_with_a_cursor(client, auditor, scientist):
    for i in range(5):
        record(action=Action.WORKSPACE_REQUESTED, actor=scientist, target=("workspaces.workspace", str(i), "ws"))
    client.force_login(auditor)
    first = client.get(URL, {"limit": 2, "action": "workspace.requested"}).json()
    assert [e["target_id"] for e in first["results"]] == ["4", "3"]
    assert "cursor=" in first["next"]
    second = client.get(first["next"]).json()
    assert [e["target_id"] for e in second["results"]] == ["2", "1"]
    fields = {"seq", "at", "actor_label", "action", "outcome", "details", "prev_hash", "hash"}
    assert fields <= set(second["results"][0])


def test_auditor_filters_by_action_and_actor(client, auditor, scientist, other_scientist):
    record(action=Action.WORKSPACE_REQUESTED, actor=scientist)
    record(action=Action.WORKSPACE_REQUESTED, actor=other_scientist)
    record(action=Action.AUTH_LOGIN, actor=scientist)
    client.force_login(auditor)
    results = client.get(URL, {"action": "workspace.requested", "actor": "olga.other"}).json()["results"]
    assert [(e["actor_label"], e["action"]) for e in results] == [("olga.other", "workspace.requested")]


def test_an_invalid_filter_is_a_400_with_the_field(client, auditor):
    client.force_login(auditor)
    response = client.get(URL, {"since": "yesterday-ish"})
    assert response.status_code == 400
    assert "since" in response.json()


def test_auditor_reads_one_event_by_sequence_number(client, auditor, scientist):
    event = record(action=Action.AUTH_LOGIN, actor=scientist)
    client.force_login(auditor)
    assert client.get(f"{URL}/{event.seq}").json()["hash"] == event.hash


def test_the_api_is_read_only_even_for_auditors(client, auditor, scientist):
    event = record(action=Action.AUTH_LOGIN, actor=scientist)
    client.force_login(auditor)
    assert client.post(URL, {}, content_type="application/json").status_code == 405
    assert client.delete(f"{URL}/{event.seq}").status_code == 405
    assert client.patch(f"{URL}/{event.seq}", {}, content_type="application/json").status_code == 405


@pytest.mark.parametrize("who", ["scientist", "catalog_admin"])
def test_non_auditors_get_403_and_the_refusal_is_recorded(client, request, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 403
    denied = AuditEvent.objects.filter(outcome=Outcome.DENIED).latest("seq")
    assert denied.action == Action.ACCESS_DENIED
    assert denied.actor_label == user.username
    assert denied.details["path"] == URL


def test_anonymous_gets_401_or_403(client):
    assert client.get(URL).status_code in (401, 403)
