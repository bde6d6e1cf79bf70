"""A data scientist's whole journey in a real browser: catalog → request → provisioning
watched live (htmx, no reload) → running → open → stop, against a real worker and moto."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.factories import TemplateVersionFactory, UserFactory
from workspaces.backends import get_backend
from workspaces.models import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture
def journey_worker(aws_stand_in: Any, fake_arm: Any, celery_worker: Any) -> Any:
    """The stand-ins first, so the session's worker inherits their endpoints."""
    get_backend.cache_clear()
    yield celery_worker
    get_backend.cache_clear()


def test_scientist_requests_watches_opens_and_stops_a_workspace(
    journey_worker, aws_stand_in, sagemaker_hardening, transactional_db, page, login_as, live_server, screenshot
):
    from playwright.sync_api import expect

    TemplateVersionFactory(
        template__slug="sm-journey",
        template__name="SageMaker secure notebook",
        template__provider="aws_sagemaker",
        spec=sagemaker_hardening,
    )
    scientist: Any = UserFactory(username="jo.journey", roles=["data_scientist"], cost_centre="CC-5150")
    login_as(scientist)

    page.goto(f"{live_server.url}/catalog/")
    page.get_by_test_id("request-sm-journey").click()
    form = page.get_by_test_id("request-form")
    form.get_by_label("Name").fill("fraud features")
    form.get_by_label("Instance size").select_option("ml.t3.large")
    form.get_by_label("Data classification").select_option("confidential")
    page.get_by_test_id("submit-request").click()

    expect(page.get_by_test_id("workspace-name")).to_have_text("fraud features")
    state = page.get_by_test_id("status-panel").get_by_test_id("state")
    expect(state).to_have_text(re.compile("Requested|Provisioning"))
    page.evaluate("window.enclaveNoReload = true")  # lost if the page reloads
    screenshot("workspace-provisioning")
    expect(state).to_have_text("Running", timeout=90_000)
    assert page.evaluate("window.enclaveNoReload === true"), "the page reloaded instead of updating live"
    expect(page.get_by_test_id("hardening")).to_contain_text("direct_internet_access")
    expect(page.get_by_test_id("timeline")).to_contain_text("workspace.running")
    screenshot("workspace-running")

    ws = Workspace.objects.get(owner=scientist)
    with page.expect_popup() as popup_info:
        page.get_by_test_id("open").click()
    popup = popup_info.value
    assert ws.resource_name in popup.url
    popup.close()

    page.get_by_test_id("stop").click()
    expect(state).to_have_text("Stopped", timeout=90_000)
    expect(page.get_by_test_id("start")).to_be_visible()
    screenshot("workspace-stopped")

    page.goto(f"{live_server.url}/catalog/workspaces/")
    expect(page.get_by_test_id(f"workspace-row-{ws.pk}")).to_contain_text("Stopped")
    screenshot("my-workspaces")
