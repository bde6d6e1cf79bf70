"""The in-app notification centre: sent alongside e-mail, counted in the header, read by its
recipient only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from portal.notifications import notify

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_header_shows_the_unread_count_and_reading_one_goes_to_the_item(scientist: Any) -> None:
    note = notify(user=scientist, text="Your workspace is running", link=reverse("profile"))
    notify(user=scientist, text="Another", link="/")
    client = _client(scientist)

    page = client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="unread-count" aria-label="2 unread">2<' in page

    response = client.post(reverse("notification_read", kwargs={"pk": note.pk}))
    assert response.status_code == 302
    assert response["Location"] == reverse("profile")
    assert 'aria-label="1 unread">1<' in client.get(reverse("dashboard")).content.decode()


def test_nobody_can_read_or_mark_someone_elses_notification(scientist: Any, other_scientist: Any) -> None:
    note = notify(user=scientist, text="Your access to Card transactions was approved", link="/")
    client = _client(other_scientist)

    assert "Card transactions" not in client.get(reverse("notifications")).content.decode()
    assert client.post(reverse("notification_read", kwargs={"pk": note.pk})).status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


def test_a_notification_cannot_link_outside_the_portal(scientist: Any) -> None:
    with pytest.raises(ValueError, match="inside the portal"):
        notify(user=scientist, text="phish", link="https://evil.example/")
