"""Auditor pages: search, event detail with its chain link, verify, export — read-only and audited."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from audit.actions import Action, Outcome
from audit.models import AuditEvent
from audit.services import record

pytestmark = pytest.mark.django_db


def _events(n: int, actor) -> None:
    for i in range(n):
        record(action=Action.WORKSPACE_REQUESTED, actor=actor, target=("workspaces.workspace", str(i), f"ws-{i}"))


def test_auditor_sees_the_newest_events_first(client, auditor, scientist):
    _events(3, scientist)
    client.force_login(auditor)
    response = client.get(reverse("audit:events"))
    assert response.status_code == 200
    seqs = [e.seq for e in response.context["page"].events]
    assert seqs == sorted(seqs, reverse=True)
    assert b"workspace.requested" in response.content


def test_catalog_admin_may_read_the_trail_too(client, catalog_admin):
    client.force_login(catalog_admin)
    assert client.get(reverse("audit:events")).status_code == 200


def test_events_page_filters_by_actor_action_outcome_and_target(client, auditor, scientist, other_scientist):
    record(action=Action.WORKSPACE_REQUESTED, actor=scientist, target=("workspaces.workspace", "1", "ws-1"))
    record(action=Action.WORKSPACE_REQUESTED, actor=other_scientist, target=("workspaces.workspace", "2", "ws-2"))
    record(action=Action.ACCESS_DENIED, actor=scientist, outcome=Outcome.DENIED, details={"reason": "x"})
    client.force_login(auditor)
    url = reverse("audit:events")
    page = client.get(url, {"actor": "sam.scientist", "action": "workspace.requested"}).context["page"]
    assert [(e.actor_label, e.target_id) for e in page.events] == [("sam.scientist", "1")]
    page = client.get(url, {"outcome": "denied", "actor": "sam.scientist"}).context["page"]
    assert [e.action for e in page.events] == ["access.denied"]
    page = client.get(url, {"target_type": "workspaces.workspace", "target_id": "2"}).context["page"]
    assert [e.actor_label for e in page.events] == ["olga.other"]


def test_events_page_pages_by_sequence_number(client, auditor, scientist):
    _events(120, scientist)
    client.force_login(auditor)
    first = client.get(reverse("audit:events")).context["page"]
    assert len(first.events) == 50
    assert first.older is not None
    second = client.get(reverse("audit:events"), {"before": first.older}).context["page"]
    assert second.events[0].seq == first.events[-1].seq - 1
    back = client.get(reverse("audit:events"), {"after": second.newer}).context["page"]
    assert [e.seq for e in back.events] == [e.seq for e in first.events]


def test_events_page_costs_the_same_queries_for_10_or_300_events(client, auditor, scientist, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(auditor)
    url = reverse("audit:events")
    _events(10, scientist)
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(url, {"actor": "sam.scientist"})
    _events(290, scientist)
    with CaptureQueriesContext(connection) as many:
        client.get(url, {"actor": "sam.scientist"})
    assert len(many.captured_queries) == len(few.captured_queries)


def test_event_page_shows_the_hash_chain_link(client, auditor, scientist):
    _events(3, scientist)
    middle = AuditEvent.objects.order_by("seq")[1]
    client.force_login(auditor)
    response = client.get(reverse("audit:event", kwargs={"seq": middle.seq}))
    assert response.status_code == 200
    body = response.content.decode()
    assert middle.hash in body
    assert middle.prev_hash in body
    assert response.context["link"].content_ok
    assert response.context["link"].previous_links


def test_missing_event_is_404(client, auditor):
    client.force_login(auditor)
    assert client.get(reverse("audit:event", kwargs={"seq": 999999})).status_code == 404


def test_verify_button_records_the_result_and_shows_it(client, auditor, scientist):
    _events(3, scientist)
    client.force_login(auditor)
    response = client.post(reverse("audit:verify"))
    verified = AuditEvent.objects.get(action=Action.AUDIT_VERIFIED)
    assert response.status_code == 302
    assert response.url == reverse("audit:event", kwargs={"seq": verified.seq})
    assert verified.actor_label == "aud.auditor"
    assert verified.details["ok"] is True
    assert verified.details["checked"] == verified.seq - 1
    assert "Last verified" in client.get(reverse("audit:events")).content.decode()


def test_verify_needs_a_post(client, auditor):
    client.force_login(auditor)
    assert client.get(reverse("audit:verify")).status_code == 405


@pytest.mark.parametrize(("fmt", "content_type"), [("jsonl", "application/x-ndjson"), ("csv", "text/csv")])
def test_export_download_streams_the_filtered_trail_and_is_audited(client, auditor, scientist, fmt, content_type):
    _events(3, scientist)
    record(action=Action.AUTH_LOGIN, actor=scientist)
    client.force_login(auditor)
    response = client.post(reverse("audit:export"), {"format": fmt, "action": "workspace.requested"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith(content_type)
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    assert body.count("workspace.requested") == 3
    assert "auth.login" not in body
    exported = AuditEvent.objects.get(action=Action.AUDIT_EXPORTED)
    assert exported.actor_label == "aud.auditor"
    assert exported.details == {**exported.details, "format": fmt, "via": "page"}
    if fmt == "jsonl":
        assert all(json.loads(line)["action"] == "workspace.requested" for line in body.splitlines())


def test_scientist_gets_403_on_the_auditor_page_and_the_refusal_is_recorded(client, scientist):
    client.force_login(scientist)
    response = client.get(reverse("audit:events"))
    assert response.status_code == 403
    denied = AuditEvent.objects.filter(outcome=Outcome.DENIED, action=Action.ACCESS_DENIED).latest("seq")
    assert denied.actor_label == "sam.scientist"
    assert denied.details["path"] == reverse("audit:events")


@pytest.mark.parametrize("name", ["audit:verify", "audit:export"])
def test_approver_cannot_verify_or_export(client, approver, name):
    client.force_login(approver)
    assert client.post(reverse(name), {"format": "jsonl"}).status_code == 403
    assert not AuditEvent.objects.filter(action__in=[Action.AUDIT_VERIFIED, Action.AUDIT_EXPORTED]).exists()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("audit:events"))
    assert response.status_code == 302
    assert "login" in response.url
