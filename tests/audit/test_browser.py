"""The auditor's pages in a real browser: search, open an event, verify (screenshots for review)."""

from __future__ import annotations

import pytest

from audit.actions import Action, Outcome
from audit.services import record

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_auditor_searches_the_trail_opens_an_event_and_verifies_integrity(
    transactional_db, page, live_server, login_as, screenshot, auditor, scientist
):
    for i in range(3):
        record(action=Action.WORKSPACE_REQUESTED, actor=scientist, target=("workspaces.workspace", str(i), f"ws-{i}"),
               details={"template": "sagemaker-standard", "instance_type": "ml.t3.medium"})  # fmt: skip
    record(action=Action.ACCESS_DENIED, actor=scientist, outcome=Outcome.DENIED, details={"reason": "not yours"})
    login_as(auditor)
    page.goto(f"{live_server.url}/audit/")
    assert page.get_by_test_id("event-row").count() >= 5
    page.get_by_label("Outcome").select_option("denied")
    page.get_by_test_id("apply-filters").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("event-row").count() == 1
    screenshot("audit-events-filtered")

    page.get_by_test_id("event-row").first.get_by_role("link").first.click()
    assert page.get_by_test_id("content-ok").inner_text() == "matches"
    screenshot("audit-event-detail")

    page.goto(f"{live_server.url}/audit/")
    page.get_by_test_id("verify").click()
    page.wait_for_load_state("networkidle")
    assert "Integrity verified" in page.content()
    assert "audit.verified" in page.content()
    screenshot("audit-verified")
