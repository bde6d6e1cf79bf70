"""Access-request notifications reach people in the app as well as by e-mail."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from approvals import services
from portal.models import Notification

pytestmark = pytest.mark.django_db


def test_an_approval_notification_reaches_the_requester_in_the_app_as_well_as_by_email(
    pending: Any, approver: Any, scientist: Any, queue: Any
) -> None:
    from approvals import notifications

    services.decide(approver, pending, "approve", "Fine for Q3.")
    notifications.send("decision", str(pending.pk))

    note = Notification.objects.get(user=scientist)
    assert note.link == reverse("approvals:request_detail", kwargs={"pk": pending.pk})
    assert note.text == mail.outbox[-1].subject
