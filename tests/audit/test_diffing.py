"""The before/after diff an edit's audit event carries: only the changed fields, named in order."""

from __future__ import annotations

from audit.diffing import changed_fields, changes


def test_an_edit_shows_only_the_fields_it_changed() -> None:
    before = {"name": "Cards", "active": True, "slug": "cards"}
    after = {"name": "Cards 2025", "active": False, "slug": "cards"}

    assert changes(before, after) == {
        "changed": ["active", "name"],
        "before": {"active": True, "name": "Cards"},
        "after": {"active": False, "name": "Cards 2025"},
    }


def test_an_edit_that_changes_nothing_shows_no_fields() -> None:
    snapshot = {"name": "Cards", "active": True}

    assert changes(snapshot, dict(snapshot)) == {"changed": [], "before": {}, "after": {}}


def test_changed_fields_are_sorted_so_the_event_reads_the_same_every_time() -> None:
    assert changed_fields({"b": 1, "a": 1, "c": 1}, {"b": 2, "a": 2, "c": 1}) == ["a", "b"]
