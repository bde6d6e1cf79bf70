"""A newcomer's first pages, for every role, at desktop width (1280) and phone width (390): the
header collapses into a menu that still reaches "Sign out", nothing overflows sideways, tables turn
into cards, and axe-core finds no serious or critical accessibility violation on the role's main
page. Screenshots land in artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import DatasetFactory, TemplateVersionFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAIN_PAGE = {
    "data_scientist": "/catalog/",
    "approver": "/access/inbox/",
    "catalog_admin": "/catalog/manage/",
    "auditor": "/audit/",
}
WIDTHS = {"desktop": 1280, "phone": 390}


def _axe_serious(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def demo_rows(db: Any) -> Any:
    version: Any = TemplateVersionFactory(template__name="Standard Python (SageMaker)")
    owner = UserFactory(username="sam.scientist", roles=["data_scientist"])
    WorkspaceFactory(owner=owner, template_version=version, name="churn model", state="running")
    DatasetFactory(name="Card transactions")
    return owner


@pytest.mark.parametrize("width", sorted(WIDTHS))
@pytest.mark.parametrize("role", sorted(MAIN_PAGE))
def test_each_role_finds_its_way_at_desktop_and_phone_width_without_accessibility_blockers(
    role: str, width: str, page: Any, login_as: Any, live_server: Any, settings: Any, screenshot: Any, demo_rows: Any
) -> None:
    from playwright.sync_api import expect

    settings.ENCLAVE_MFA_REQUIRED_ROLES = []
    page.set_viewport_size({"width": WIDTHS[width], "height": 900})
    user = demo_rows if role == "data_scientist" else UserFactory(username=f"n.{role}", roles=[role])

    login_as(user)
    screenshot(f"newcomer-{role}-dashboard-{width}")
    if role == "data_scientist":
        expect(page.get_by_test_id("browse-catalog")).to_be_visible()

    sign_out = page.get_by_test_id("sign-out")
    if width == "phone":
        expect(sign_out).to_be_hidden()  # collapsed behind the menu button
        page.get_by_test_id("menu-button").click()
        screenshot(f"newcomer-{role}-menu-{width}")
    expect(sign_out).to_be_visible()
    box = sign_out.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= WIDTHS[width], "Sign out is cut off"

    page.goto(f"{live_server.url}{MAIN_PAGE[role]}")
    page.wait_for_load_state("networkidle")
    screenshot(f"newcomer-{role}-main-{width}")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
    assert _axe_serious(page) == []


def test_at_phone_width_table_rows_become_cards_labelled_with_their_column(
    page: Any, login_as: Any, live_server: Any, screenshot: Any, demo_rows: Any
) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 390, "height": 900})
    login_as(demo_rows)
    page.goto(f"{live_server.url}/catalog/workspaces/")
    first_cell = page.locator("table tbody tr td").first
    expect(first_cell).to_have_attribute("data-label", "Name")
    assert page.evaluate("getComputedStyle(document.querySelector('table tbody tr')).display") == "block"
    screenshot("newcomer-my-workspaces-phone")

    page.get_by_role("link", name="churn model").click()
    expect(page.get_by_test_id("state-banner")).to_contain_text("is running")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    screenshot("newcomer-workspace-detail-phone")
