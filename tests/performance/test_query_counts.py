"""Every list page and list endpoint costs a constant number of SQL queries: the same with 20
rows as with 2,000, and within its budget in ``query_counts.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.performance.conftest import World

BUDGET: dict[str, int] = {
    k: v for k, v in json.loads((Path(__file__).parent / "query_counts.json").read_text()).items() if k[0] != "_"
}

# name -> (path, which user of the world asks)
PAGES: dict[str, tuple[str, str]] = {
    "my_workspaces": ("/catalog/workspaces/", "scientist"),
    "my_workspaces_limit_200": ("/catalog/workspaces/?limit=200", "scientist"),
    "fleet": ("/catalog/fleet/", "auditor"),
    "approvals_inbox": ("/access/inbox/", "approver"),
    "my_requests": ("/access/", "requester"),
    "audit_trail": ("/audit/", "auditor"),
    "audit_trail_filtered": ("/audit/?action=workspace.requested&actor=sam.scientist", "auditor"),
    "catalog": ("/catalog/", "scientist"),
    "api_workspaces": ("/api/v1/workspaces?limit=200", "scientist"),
    "api_audit_events": ("/api/v1/audit-events?limit=200", "auditor"),
    "api_access_requests_inbox": ("/api/v1/access-requests?scope=inbox", "approver"),
    "api_access_requests_mine": ("/api/v1/access-requests?limit=200", "requester"),
}


def _queries(path: str, user: Any) -> tuple[int, Any]:
    client = Client()
    client.force_login(user)
    client.get(path)  # warm per-process caches (roles, prices) as a running server has them
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(ctx.captured_queries), response


def test_every_list_page_has_a_budget():
    assert set(PAGES) == set(BUDGET)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_list_page_costs_the_same_queries_at_20_and_2000_rows(world: World, name: str):
    path, who = PAGES[name]
    user = getattr(world, who)
    world.grow_to(20)
    small, _ = _queries(path, user)
    world.grow_to(2_000)
    big, response = _queries(path, user)
    assert small == big, f"{name}: {small} queries at 20 rows, {big} at 2,000"
    assert big <= BUDGET[name], f"{name}: {big} queries, budget {BUDGET[name]} (tests/performance/query_counts.json)"
    assert len(response.content) < 2_000_000  # a page, not the table
