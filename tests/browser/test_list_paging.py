"""In a real browser, each list page shows its first 50 rows and a Next link that leads to the
rest (and Previous back), for the role that reads it, at desktop and phone widths."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.browser import SCREENSHOTS
from tests.performance.conftest import World, make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# page path, who reads it, the test id of its row elements
LISTS = [
    ("/catalog/workspaces/", "scientist", "workspace-row-"),
    ("/catalog/fleet/", "auditor", "fleet-row-"),
    ("/access/inbox/", "approver", "inbox-row-"),
]


@pytest.mark.parametrize(("path", "who", "row_prefix"), LISTS)
def test_a_long_list_pages_by_50_with_next_and_previous(
    path: str, who: str, row_prefix: str, page: Any, login_as: Any, live_server: Any, screenshot: Any, settings: Any
):
    settings.ENCLAVE_MFA_REQUIRED_ROLES = []  # MFA enrolment has its own browser test (tests/sso)
    world: World = make_world()
    world.grow_to(60)
    login_as(getattr(world, who))
    page.goto(f"{live_server.url}{path}")
    rows = page.locator(f"[data-testid^='{row_prefix}']")
    assert rows.count() == 50
    name = path.strip("/").replace("/", "-")
    screenshot(f"paging-{name}-desktop")
    page.get_by_test_id("pager").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"paging-{name}-desktop-pager.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(f"paging-{name}-phone")
    page.get_by_test_id("pager").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"paging-{name}-phone-pager.png"))
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_test_id("next-page").click()
    page.wait_for_load_state("networkidle")
    expected_rest = 60 - 50 + (1 if who == "auditor" else 0)  # the fleet also lists the requester's workspace
    assert rows.count() == expected_rest
    assert page.get_by_test_id("next-page").count() == 0
    page.get_by_test_id("previous-page").click()
    page.wait_for_load_state("networkidle")
    assert rows.count() == 50
