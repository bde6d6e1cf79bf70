"""Parsing the time range of exports and evidence packs."""

from __future__ import annotations

from datetime import UTC, datetime

from audit.filters import parse_moment


def test_a_bare_until_date_includes_that_whole_day():
    assert parse_moment("2025-01-31", end=True) == datetime(2025, 2, 1, tzinfo=UTC)


def test_a_bare_since_date_starts_at_midnight_utc():
    assert parse_moment("2025-01-31") == datetime(2025, 1, 31, tzinfo=UTC)


def test_a_date_time_is_taken_as_given():
    assert parse_moment("2025-01-31T10:30:00+01:00", end=True) == datetime(2025, 1, 31, 9, 30, tzinfo=UTC)
