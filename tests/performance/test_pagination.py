"""Keyset pagination: every row exactly once forwards and backwards, 50 rows by default and
200 at most, and bad input answered with a 400 or 404 — never a 500."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import NotFound, ValidationError

from portal.pagination import Cursor, encode_cursor, keyset_page, parse_limit
from tests.factories import WorkspaceFactory
from workspaces.models import Workspace
from workspaces.selectors import LIST_ORDER

pytestmark = pytest.mark.django_db


def test_paging_forward_then_back_visits_every_row_once_in_order(scientist):
    WorkspaceFactory.create_batch(7, owner=scientist)
    expected = list(Workspace.objects.order_by(*LIST_ORDER).values_list("pk", flat=True))
    qs = Workspace.objects.all()
    seen, pages, cursor = [], [], None
    while True:
        page = keyset_page(qs, ordering=LIST_ORDER, cursor=cursor, limit=3)
        pages.append(page)
        seen += [ws.pk for ws in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected
    assert [len(p.rows) for p in pages] == [3, 3, 1]
    back = keyset_page(qs, ordering=LIST_ORDER, cursor=pages[-1].previous_cursor, limit=3)
    assert [ws.pk for ws in back.rows] == expected[3:6]
    first = keyset_page(qs, ordering=LIST_ORDER, cursor=back.previous_cursor, limit=3)
    assert [ws.pk for ws in first.rows] == expected[:3]
    assert first.previous_cursor is None


def test_rows_created_in_the_same_instant_are_neither_lost_nor_repeated(scientist):
    WorkspaceFactory.create_batch(5, owner=scientist)
    Workspace.objects.update(created_at=Workspace.objects.first().created_at)  # type: ignore[union-attr]
    seen, cursor = [], None
    for _ in range(5):
        page = keyset_page(Workspace.objects.all(), ordering=LIST_ORDER, cursor=cursor, limit=2)
        seen += [ws.pk for ws in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(Workspace.objects.values_list("pk", flat=True))
    assert len(seen) == 5


def test_a_values_queryset_pages_like_model_rows(scientist):
    WorkspaceFactory.create_batch(3, owner=scientist)
    qs = Workspace.objects.values("id", "name", "created_at")
    first = keyset_page(qs, ordering=LIST_ORDER, limit=2)
    second = keyset_page(qs, ordering=LIST_ORDER, cursor=first.next_cursor, limit=2)
    assert len(first.rows) + len(second.rows) == 3


def test_page_size_is_50_by_default_and_200_at_most():
    assert parse_limit(None) == 50
    assert parse_limit("200") == 200
    assert parse_limit("5000") == 200


@pytest.mark.parametrize("huge", ["9" * 30, "9" * 5000, "0" * 10 + "300"])
def test_a_limit_of_any_length_is_capped_without_converting_it(huge):
    assert parse_limit(huge) == 200


@pytest.mark.parametrize("bad", ["0", "000", "-1", "abc", "1.5", "\u0661\u0662"])
def test_a_malformed_limit_is_a_validation_error(bad):
    with pytest.raises(ValidationError):
        parse_limit(bad)


@pytest.mark.parametrize(
    "bad",
    [
        "garbage",
        "!!!",
        "",
        encode_cursor(Cursor(True, ("not-a-date", "x"))),
        encode_cursor(Cursor(True, (1,))),
        "A" * 5000,
    ],
)
def test_a_malformed_cursor_is_not_found(bad):
    with pytest.raises(NotFound):
        keyset_page(Workspace.objects.all(), ordering=LIST_ORDER, cursor=bad or "e30", limit=2)


@pytest.mark.parametrize(
    ("path", "who"),
    [
        ("/catalog/workspaces/", "scientist"),
        ("/catalog/fleet/", "auditor"),
        ("/access/", "scientist"),
        ("/api/v1/workspaces", "scientist"),
        ("/api/v1/audit-events", "auditor"),
    ],
)
def test_pages_and_endpoints_answer_bad_paging_input_with_400_or_404(client, scientist, auditor, path, who):
    client.force_login({"scientist": scientist, "auditor": auditor}[who])
    assert client.get(path, {"limit": "lots"}).status_code == 400
    assert client.get(path, {"cursor": "not-a-cursor"}).status_code == 404
    assert client.get(path, {"limit": "200"}).status_code == 200


def test_the_audit_trail_page_answers_a_bad_limit_with_400(client, auditor):
    client.force_login(auditor)
    assert client.get("/audit/", {"limit": "0"}).status_code == 400
    assert client.get("/audit/", {"limit": "200"}).status_code == 200


def test_the_api_lists_next_and_previous_links_and_no_count(client, scientist):
    WorkspaceFactory.create_batch(3, owner=scientist)
    client.force_login(scientist)
    first = client.get("/api/v1/workspaces", {"limit": 2}).json()
    assert set(first) == {"next", "previous", "results"}
    assert len(first["results"]) == 2
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1
    assert second["next"] is None
    assert "cursor=" in second["previous"]
