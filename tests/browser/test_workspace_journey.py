"""A data scientist's whole journey in a real browser: catalog → request → provisioning
watched live (htmx, no reload) → running → open → stop, against a real worker and the cloud
stand-ins. It runs once for the demo catalog's SageMaker template (against moto) and once for
its Azure ML template (against the fake ARM)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from audit.models import AuditEvent
from catalog.demo import DEMO_TEMPLATES
from devtools.fake_arm.certs import spki_sha256
from tests.factories import TemplateVersionFactory, UserFactory
from tests.fixtures.browser import CHROMIUM_ARGS, SCREENSHOTS
from workspaces.backends import get_backend
from workspaces.models import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture
def journey_worker(aws_stand_in: Any, fake_arm: Any, celery_worker: Any) -> Any:
    """The stand-ins first, so the session's worker inherits their endpoints."""
    get_backend.cache_clear()
    yield celery_worker
    get_backend.cache_clear()


@dataclass(frozen=True)
class Journey:
    """What differs between the providers: which demo template, which size, what hardening shows."""

    provider: str
    slug: str
    size: str
    hardening_key: str
    hardening_text: str


def _demo(slug: str) -> dict[str, Any]:
    return next(entry for entry in DEMO_TEMPLATES if entry["slug"] == slug)


def _publish(entry: dict[str, Any], spec: dict[str, Any]) -> None:
    TemplateVersionFactory(
        template__slug=entry["slug"],
        template__name=entry["name"],
        template__provider=entry["provider"],
        template__description=entry["description"],
        template__classifications=entry["classifications"],
        template__max_workspaces_per_user=entry["max_workspaces_per_user"],
        spec=spec,
    )


@pytest.fixture(params=["aws", "azure"])
def journey(request: pytest.FixtureRequest, transactional_db: Any) -> Journey:
    """The demo catalog's template for the provider, published; on AWS its network, key and boundary
    are swapped for real ones in moto (the fake ARM takes the demo's Azure ids as they are)."""
    if request.param == "aws":
        network = request.getfixturevalue("moto_network")
        entry = _demo("standard-python-sagemaker")
        _publish(
            entry,
            {
                **entry["spec"],
                "subnet_id": network.subnet_id,
                "security_group_ids": [network.security_group_id],
                "kms_key_id": network.kms_key_arn,
                "permissions_boundary_arn": network.permissions_boundary_arn,
            },
        )
        return Journey("aws", entry["slug"], "ml.t3.large", "Direct internet access", "Disabled")
    request.getfixturevalue("clean_fake_arm")
    entry = _demo("secure-azure-ml")
    _publish(entry, entry["spec"])
    return Journey("azure", entry["slug"], "Standard_DS4_v2", "SSH from the internet", "Disabled")


@pytest.fixture
def page(page: Any, journey: Journey, playwright_browser: Any, require_chromium: str, fake_arm: Any) -> Any:
    """For Azure, a browser that trusts the fake ARM's own key (and nothing else it would not trust
    anyway), so "Open" reaches the studio stand-in for real; for AWS, the session's browser."""
    if journey.provider != "azure":
        yield page
        return
    pinned = playwright_browser.browser_type.launch(
        executable_path=require_chromium,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={spki_sha256(fake_arm.ca_path)}"],
    )
    context = pinned.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()
    pinned.close()


def test_scientist_requests_watches_opens_and_stops_a_workspace(
    journey_worker, journey, page, login_as, live_server, screenshot, fake_arm
):
    from playwright.sync_api import expect

    scientist: Any = UserFactory(
        username="jo.journey",
        roles=["data_scientist"],
        cost_centre="CC-5150",
        entra_object_id="6d0e3c1a-2b4f-4c8d-9e7a-5f1b2c3d4e5f",
    )
    login_as(scientist)

    page.goto(f"{live_server.url}/catalog/")
    page.get_by_test_id(f"request-{journey.slug}").click()
    form = page.get_by_test_id("request-form")
    form.get_by_label("Name").fill("fraud features")
    form.get_by_label("Instance size").select_option(journey.size)
    form.get_by_label("Data classification").select_option("confidential")
    page.get_by_test_id("submit-request").click()

    expect(page.get_by_test_id("workspace-name")).to_have_text("fraud features")
    state = page.get_by_test_id("status-panel").get_by_test_id("state")
    expect(state).to_have_text(re.compile("Requested|Provisioning"))
    page.evaluate("window.enclaveNoReload = true")  # lost if the page reloads
    expect(page.get_by_test_id("progress")).to_contain_text("Identity and network")
    expect(page.get_by_test_id("progress-detail")).to_contain_text("elapsed")
    screenshot(f"workspace-{journey.provider}-provisioning")
    expect(state).to_have_text("Running", timeout=90_000)
    assert page.evaluate("window.enclaveNoReload === true"), "the page reloaded instead of updating live"
    hardening = page.get_by_test_id("hardening")
    expect(hardening).to_contain_text(journey.hardening_key)
    expect(hardening).to_contain_text(journey.hardening_text)
    expect(page.get_by_test_id("timeline")).to_contain_text("Workspace running")
    expect(page.get_by_test_id("state-banner")).to_contain_text("is running")
    expect(page.get_by_test_id("progress")).to_have_count(0)  # steps are for the way to service only
    screenshot(f"workspace-{journey.provider}-running")

    ws = Workspace.objects.get(owner=scientist)
    assert ws.provider == ("aws_sagemaker" if journey.provider == "aws" else "azure_ml")
    assert ws.instance_type == journey.size
    with page.expect_popup() as popup_info:
        page.get_by_test_id("open").click()
    popup = popup_info.value
    popup.wait_for_load_state()
    if journey.provider == "azure":
        # The fake ARM's Azure ML studio stand-in: the deep link minted a short-lived link bound to the
        # compute and its assigned user, and the landing page shows whose compute this is.
        assert popup.url.startswith(f"{fake_arm.url}/studio/landing?link=")
        expect(popup.get_by_test_id("studio-compute")).to_have_text(ws.resource_name)
        expect(popup.get_by_test_id("studio-assigned-user")).to_have_text(scientist.entra_object_id)
        expect(popup.get_by_test_id("studio-state")).to_have_text("Running")
        popup.screenshot(path=str(SCREENSHOTS / "workspace-azure-studio-landing.png"))
    else:
        assert ws.resource_name in popup.url
    popup.close()
    assert AuditEvent.objects.filter(action="workspace.opened", target_id=str(ws.pk), actor=scientist).count() == 1

    page.get_by_test_id("stop").click()
    expect(state).to_have_text("Stopped", timeout=90_000)
    expect(page.get_by_test_id("start")).to_be_visible()
    screenshot(f"workspace-{journey.provider}-stopped")

    page.goto(f"{live_server.url}/catalog/workspaces/")
    expect(page.get_by_test_id(f"workspace-row-{ws.pk}")).to_contain_text("Stopped")
    screenshot(f"my-workspaces-{journey.provider}")
