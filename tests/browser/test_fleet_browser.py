"""The fleet page in a real browser: work waiting for a worker and drift with the provider's status,
for catalog admins and auditors, at desktop and phone widths."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("role", ["catalog_admin", "auditor"])
def test_fleet_shows_waiting_work_and_drift_with_the_cloud_status(
    role: str, width: int, page: Any, login_as: Any, live_server: Any, settings: Any, screenshot: Any
) -> None:
    settings.ENCLAVE_MFA_REQUIRED_ROLES = []
    WorkspaceFactory(name="queued one", state="requested", next_due_at=timezone.now() - timedelta(minutes=4))
    WorkspaceFactory(name="idle stop", state="stopped", drift=["stopped outside Enclave"], cloud_status="Stopped")
    WorkspaceFactory(name="gone", state="failed", drift=["missing in cloud"], cloud_status="NotFound")
    user = UserFactory(username=f"f.{role}", roles=[role])
    page.set_viewport_size({"width": width, "height": 900})
    login_as(user)
    page.goto(f"{live_server.url}{reverse('workspaces:fleet')}")
    waiting = page.get_by_test_id("fleet-waiting").inner_text()
    assert "Waiting for a worker: 1 overdue, the oldest by 4 min" in waiting
    fleet = page.get_by_test_id("fleet").inner_text()
    assert "stopped outside Enclave" in fleet
    assert "missing in cloud" in fleet
    assert "NotFound" in fleet
    screenshot(f"fleet-{role}-{width}")
