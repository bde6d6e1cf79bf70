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
        return Journey("aws", entry["slug"], "ml.t3.large", "direct_internet_access", "Disabled")
    request.getfixturevalue("clean_fake_arm")
    entry = _demo("secure-azure-ml")
    _publish(entry, entry["spec"])
    return Journey("azure", entry["slug"], "Standard_DS4_v2", "ssh_public_access", "Disabled")


def test_scientist_requests_watches_opens_and_stops_a_workspace(
    journey_worker, journey, page, login_as, live_server, screenshot
):
    from playwright.sync_api import expect

    scientist: Any = UserFactory(username="jo.journey", roles=["data_scientist"], cost_centre="CC-5150")
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
    screenshot(f"workspace-{journey.provider}-provisioning")
    expect(state).to_have_text("Running", timeout=90_000)
    assert page.evaluate("window.enclaveNoReload === true"), "the page reloaded instead of updating live"
    hardening = page.get_by_test_id("hardening")
    expect(hardening).to_contain_text(journey.hardening_key)
    expect(hardening).to_contain_text(journey.hardening_text)
    expect(page.get_by_test_id("timeline")).to_contain_text("workspace.running")
    screenshot(f"workspace-{journey.provider}-running")

    ws = Workspace.objects.get(owner=scientist)
    assert ws.provider == ("aws_sagemaker" if journey.provider == "aws" else "azure_ml")
    assert ws.instance_type == journey.size
    opened: list[str] = []
    if journey.provider == "azure":
        # Azure ML studio is on the internet, which the tests do not reach (and Playwright does not
        # route redirects): let the portal answer the click, note where it sends the browser, and
        # answer for studio.
        def answer_for_studio(route: Any) -> None:
            response = route.fetch(max_redirects=0)
            opened.append(response.headers.get("location", ""))
            route.fulfill(status=200, content_type="text/html", body="<title>Azure ML studio</title>")

        page.context.route(re.compile(r"/open$"), answer_for_studio)
    with page.expect_popup() as popup_info:
        page.get_by_test_id("open").click()
    popup = popup_info.value
    popup.wait_for_load_state()
    if journey.provider == "azure":
        (location,) = opened
        assert location.startswith(f"https://ml.azure.com/compute/{ws.resource_name}/details?wsid=/subscriptions/")
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
