"""The hot list queries are served by an index, as PostgreSQL's ``EXPLAIN`` shows.

On tiny test tables the planner rightly prefers a sequential scan, so each query is planned with
``enable_seqscan = off``: the plan then still shows "Seq Scan" when no index can serve it, and
names the index when one can. The queries are the ones the pages run (taken from the selectors
and filters), not hand-written copies.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals import selectors as approval_selectors
from audit.filters import EventFilter
from audit.models import AuditEvent
from portal.pagination import keyset_page
from tests.factories import WorkspaceFactory
from workspaces import selectors as workspace_selectors
from workspaces.models import Workspace

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="EXPLAIN plans are PostgreSQL's"),
]


def plan(qs: QuerySet[Any]) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        try:
            return qs.explain()
        finally:
            cursor.execute("SET LOCAL enable_seqscan = on")


def assert_served_by(text: str, index: str) -> None:
    assert "Seq Scan" not in text, text
    assert index in text, text


def audit_page(flt: EventFilter) -> QuerySet[AuditEvent]:
    """The audit trail page's query: matching events, newest first, one page."""
    return flt.apply(AuditEvent.objects.all()).order_by("-seq")[:51]


def test_the_audit_trail_by_action_walks_the_action_index():
    text = plan(audit_page(EventFilter(action="workspace.requested")))
    assert_served_by(text, "audit_action_seq")


def test_the_audit_trail_by_user_actor_walks_the_actor_index(scientist):
    text = plan(audit_page(EventFilter(actor=scientist.username)))
    assert_served_by(text, "audit_actor_seq")


def test_the_audit_trail_by_system_actor_walks_the_partial_label_index():
    text = plan(audit_page(EventFilter(actor="task:workspaces.poll")))
    assert_served_by(text, "audit_system_actor_seq")


def test_the_audit_trail_by_target_walks_the_target_index():
    text = plan(audit_page(EventFilter(target_type="workspaces.workspace", target_id="42")))
    assert_served_by(text, "audit_target_seq")


def test_the_audit_trail_by_time_range_uses_an_index():
    now = timezone.now()
    text = plan(audit_page(EventFilter(since=now - timedelta(days=1), until=now)))
    assert_served_by(text, "Index")


def test_the_unfiltered_audit_trail_walks_the_primary_key_backwards():
    text = plan(audit_page(EventFilter()))
    assert_served_by(text, "Index Scan Backward")


def test_the_fleet_page_walks_the_created_index():
    qs = Workspace.objects.exclude(state="deleted").order_by(*workspace_selectors.LIST_ORDER)[:51]
    text = plan(qs)
    assert_served_by(text, "workspace_created")


def test_the_fleet_filtered_by_state_walks_the_state_created_index():
    qs = Workspace.objects.filter(state="failed").order_by(*workspace_selectors.LIST_ORDER)[:51]
    text = plan(qs)
    assert_served_by(text, "workspace_state_created")
    assert "Sort" not in text


def test_a_later_fleet_page_is_an_index_range_not_an_offset(scientist):
    WorkspaceFactory.create_batch(3, owner=scientist)
    qs = Workspace.objects.exclude(state="deleted")
    first = keyset_page(qs, ordering=workspace_selectors.LIST_ORDER, limit=2)
    assert first.next_cursor is not None
    with CaptureQueriesContext(connection) as ctx:
        second = keyset_page(qs, ordering=workspace_selectors.LIST_ORDER, cursor=first.next_cursor, limit=2)
    sql = ctx.captured_queries[-1]["sql"]
    assert len(second.rows) == 1
    assert "OFFSET" not in sql.upper()
    assert '"created_at" <=' in sql


def test_my_workspaces_walk_the_owner_created_index(scientist):
    qs = workspace_selectors.workspaces_of(scientist).order_by(*workspace_selectors.LIST_ORDER)[:51]
    text = plan(qs)
    assert_served_by(text, "workspace_owner_created")


def test_the_fleet_state_counts_read_the_state_index_only():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        table = Workspace._meta.db_table
        cursor.execute(
            f"EXPLAIN SELECT count(*) FROM (SELECT 1 FROM {table} WHERE state = %s LIMIT 1001) b", ["running"]
        )
        text = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = on")
    assert_served_by(text, "Limit")


def test_the_approvals_inbox_walks_the_pending_index(approver):
    qs = approval_selectors._inbox_queryset(approver).order_by(*approval_selectors.INBOX_ORDER)[:51]
    text = plan(qs)
    assert "access_request_state_created" in text
    assert "Seq Scan on approvals_accessrequest" not in text
