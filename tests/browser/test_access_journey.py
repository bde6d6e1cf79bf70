"""In the browser: a scientist requests access to a dataset, an approver signs in and approves
from the inbox, and the scientist sees the active grant with its expiry.

Tasks run in the live server's process (``send_task`` is replaced to run them at once) against a
fake grant backend — the cloud side is covered by tests/integration/test_grants.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from approvals import demo, services, tasks
from approvals.models import AccessRequest
from tests.approvals.conftest import make_workspace
from tests.approvals.fakes import FakeGrantBackend
from tests.fixtures.mfa import assert_mfa_for_browser_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tasks_inline(monkeypatch: pytest.MonkeyPatch) -> FakeGrantBackend:
    backend = FakeGrantBackend()
    monkeypatch.setattr(tasks, "backend_for", lambda provider: backend)

    def run_now(name: str, args: list[Any], countdown: float | None = None) -> None:
        getattr(tasks, name).apply(args=args, throw=True)

    monkeypatch.setattr(services.dispatch, "send_task", run_now)
    return backend


def test_scientist_requests_approver_approves_from_the_inbox_scientist_sees_the_grant(
    page: Any, live_server: Any, login_as: Any, screenshot: Any, scientist: Any, approver: Any, catalog_admin: Any,
    tasks_inline: FakeGrantBackend,
) -> None:  # fmt: skip
    demo.seed_datasets(catalog_admin)
    make_workspace(
        owner=scientist, name="fraud-notebook", state="running", data_classification="confidential",
        cloud_ref={"provider": "aws_sagemaker", "resource_name": "enclave-browser1", "resource_id": "", "extra": {}},
    )  # fmt: skip

    login_as(scientist)
    page.goto(f"{live_server.url}/access/")
    page.get_by_test_id("new-request").click()
    form = page.get_by_test_id("new-request-form")
    form.get_by_label("Dataset").select_option("card-transactions-2025")
    # Choosing the dataset narrows the workspace choice to those that can hold it (htmx).
    page.get_by_test_id("eligible-note").wait_for()
    form.get_by_label("Workspace").select_option(label=page.locator("#id_workspace option").nth(1).inner_text())
    form.get_by_label("For how long (hours)").fill("12")
    form.get_by_label("Justification").fill("Retraining the card-fraud model on 2025 transactions.")
    page.get_by_test_id("submit-request").click()
    req = AccessRequest.objects.get()
    page.get_by_test_id(f"state-{req.pk}").wait_for()
    assert page.get_by_test_id(f"state-{req.pk}").inner_text() == "Pending"

    page.context.clear_cookies()
    login_as(approver)
    assert_mfa_for_browser_session(page)
    page.goto(f"{live_server.url}/access/inbox/")
    row = page.get_by_test_id(f"inbox-row-{req.pk}")
    row.wait_for()
    text = row.inner_text()
    for fact in ("Sam Scientist", "Card transactions 2025", "Confidential", "Retraining the card-fraud model", "12 h"):
        assert fact in text
    screenshot("approvals_inbox")
    row.locator("textarea").fill("Fine for the fraud model.")
    page.get_by_test_id(f"approve-{req.pk}").click()
    page.get_by_test_id("inbox-empty").wait_for()
    assert "Approved" in page.locator(".messages").inner_text()

    page.context.clear_cookies()
    login_as(scientist)
    page.goto(f"{live_server.url}/access/")
    card = page.get_by_test_id(f"active-grant-{req.pk}")
    card.wait_for()
    assert "Card transactions 2025" in card.inner_text()
    assert "UTC" in card.get_by_test_id("grant-expiry").inner_text()
    assert re.match(r"11\shours, \d+\sminutes left", card.get_by_test_id("time-left").inner_text())
    assert page.get_by_test_id(f"state-{req.pk}").inner_text() == "Active"
    screenshot("approvals_my_requests")
    assert AccessRequest.objects.get(pk=req.pk).state == "active"
    assert len(tasks_inline.applied) == 1

    page.goto(f"{live_server.url}/access/requests/{req.pk}/")
    assert page.get_by_test_id("request-state").inner_text() == "Active"
    assert "Access granted in the cloud" in page.get_by_test_id("timeline").inner_text()
    screenshot("approvals_request_detail")


def test_catalog_admin_adds_a_dataset_from_the_datasets_page(
    page: Any, live_server: Any, login_as: Any, screenshot: Any, catalog_admin: Any
) -> None:
    demo.seed_datasets(catalog_admin)
    login_as(catalog_admin)
    assert_mfa_for_browser_session(page)
    page.goto(f"{live_server.url}/access/datasets/")
    page.get_by_test_id("new-dataset").click()
    form = page.get_by_test_id("dataset-form")
    form.get_by_label("Name").fill("Mortgage book")
    form.get_by_label("Slug").fill("mortgages")
    form.get_by_label("Classification").select_option("confidential")
    form.get_by_label("Cloud").select_option("aws_sagemaker")
    form.get_by_label("Location").fill("s3://Bad_Bucket/mortgages")
    form.get_by_role("button", name="Add dataset").click()
    assert "An AWS dataset lives at an S3 prefix" in page.get_by_test_id("field-location").inner_text()
    screenshot("approvals_dataset_form_refused")
    page.get_by_test_id("dataset-form").get_by_label("Location").fill("s3://bank-data/mortgages/")
    page.get_by_test_id("dataset-form").get_by_role("button", name="Add dataset").click()
    page.get_by_test_id("dataset-mortgages").wait_for()
    screenshot("approvals_datasets")
