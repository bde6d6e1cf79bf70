"""In the browser: a quarterly access review has started; the scientist sees that their access is
under review; the dataset's steward revokes one grant and certifies another from the review inbox; a
catalog admin reads the campaign report; an auditor produces the access report for the dataset and
the day, and exports it as CSV with the audit sequence number of every fact.

Tasks run in the live server's process against a fake grant backend (the cloud side is covered by
tests/integration/test_access_reviews.py). Screenshots at desktop (1280) and phone (390) width."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from approvals import review_tasks, services, tasks
from approvals.models import Grant, ReviewItem
from approvals.services import reviews
from audit.models import AuditEvent
from tests.approvals.conftest import make_dataset, make_user, make_workspace
from tests.approvals.fakes import FakeGrantBackend
from tests.fixtures.mfa import assert_mfa_for_browser_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tasks_inline(monkeypatch: pytest.MonkeyPatch) -> FakeGrantBackend:
    backend = FakeGrantBackend()
    monkeypatch.setattr(tasks, "backend_for", lambda provider: backend)
    monkeypatch.setattr(tasks, "send_review_notification", review_tasks.send_review_notification, raising=False)

    def run_now(name: str, args: list[Any], countdown: float | None = None) -> None:
        getattr(tasks, name).apply(args=args, throw=True)

    monkeypatch.setattr(services.dispatch, "send_task", run_now)
    return backend


def grant_for(user: Any, dataset: Any, approver: Any, why: str) -> Grant:
    ws = make_workspace(
        owner=user, name=f"{user.username}-notebook", state="running", data_classification="confidential",
        cloud_ref={"provider": "aws_sagemaker", "resource_name": f"enclave-{user.pk}", "resource_id": "", "extra": {}},
    )  # fmt: skip
    req = services.request_access(user, dataset, ws, why, 72)
    services.approve_request(approver, req, "Fine for this quarter.")
    return Grant.objects.get(request=req)


def both_widths(page: Any, screenshot: Any, name: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(f"{name}_desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(f"{name}_phone")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_reviewer_revokes_and_certifies_and_the_auditor_produces_the_report(
    page: Any, live_server: Any, login_as: Any, screenshot: Any, scientist: Any, other_scientist: Any,
    approver: Any, catalog_admin: Any, auditor: Any, tasks_inline: FakeGrantBackend,
) -> None:  # fmt: skip
    second = make_user(username="bea.approver", roles=["approver"])
    cards = make_dataset(slug="cards-2025", name="Card transactions 2025", classification="confidential",
                         steward=approver)  # fmt: skip
    sam = grant_for(scientist, cards, second, "Retraining the card-fraud model on 2025 transactions.")
    olga = grant_for(other_scientist, cards, second, "Chargeback analysis for the disputes team.")
    campaign = reviews.create_campaign(actor=catalog_admin, name="Quarterly card data review")
    reviews.run_reviews()
    rnd = campaign.rounds.get()

    # The scientist sees that their access is under review, and until when.
    login_as(scientist)
    page.goto(f"{live_server.url}/access/")
    banner = page.get_by_test_id(f"under-review-{sam.pk}")
    assert "Card transactions 2025" in banner.inner_text()
    assert "under review until" in banner.inner_text()
    both_widths(page, screenshot, "review_scientist_banner")

    # The steward answers from the review inbox.
    page.context.clear_cookies()
    login_as(approver)
    assert_mfa_for_browser_session(page)
    page.goto(f"{live_server.url}/")  # the navigation leads to the review inbox
    page.get_by_role("link", name="Access reviews").click()
    sam_item, olga_item = (ReviewItem.objects.get(round=rnd, grant=g) for g in (sam, olga))
    row = page.get_by_test_id(f"review-item-{sam_item.pk}")
    for fact in ("Sam Scientist", "Card transactions 2025", "Retraining the card-fraud model"):
        assert fact in row.inner_text()
    both_widths(page, screenshot, "review_inbox")
    row.locator("textarea").fill("The fraud model shipped; access no longer needed.")
    page.get_by_test_id(f"revoke-{sam_item.pk}").click()
    page.get_by_test_id(f"review-item-{olga_item.pk}").wait_for()
    assert "revoked" in page.locator(".messages").inner_text()
    page.get_by_test_id(f"certify-{olga_item.pk}").click()
    page.get_by_test_id("review-inbox-empty").wait_for()
    assert Grant.objects.get(pk=sam.pk).status == "removed"
    assert str(sam.pk) not in tasks_inline.applied
    assert Grant.objects.get(pk=olga.pk).status == "applied"

    # The catalog admin reads the campaign report.
    page.context.clear_cookies()
    login_as(catalog_admin)
    assert_mfa_for_browser_session(page)
    page.goto(f"{live_server.url}/access/reviews/")
    page.get_by_role("link", name="Quarterly card data review").click()
    page.get_by_test_id(f"round-{rnd.pk}").get_by_role("link", name="Report").click()
    assert page.get_by_test_id(f"outcome-{sam_item.pk}").inner_text() == "Revoked by the reviewer"
    assert page.get_by_test_id(f"outcome-{olga_item.pk}").inner_text() == "Certified"
    both_widths(page, screenshot, "review_campaign_report")

    # The auditor produces the access report for the dataset and today.
    page.context.clear_cookies()
    login_as(auditor)
    assert_mfa_for_browser_session(page)
    page.goto(f"{live_server.url}/access/report/")
    form = page.get_by_test_id("report-form")
    form.get_by_label("Dataset").select_option("cards-2025")
    form.get_by_label("On day").fill(timezone.now().date().isoformat())
    page.get_by_test_id("run-report").click()
    page.get_by_test_id("report-rows").wait_for()
    assert "2 grants" in page.get_by_test_id("report-count").inner_text()
    ended = page.get_by_test_id(f"ended-{sam.pk}").inner_text()
    assert "removed by review" in ended
    assert "alex.approver" in ended
    assert "active" in page.get_by_test_id(f"ended-{olga.pk}").inner_text()
    assert "bea.approver" in page.get_by_test_id(f"report-row-{sam.pk}").inner_text()
    both_widths(page, screenshot, "access_report")
    with page.expect_download() as download:
        page.get_by_test_id("export-report").click()
    text = open(download.value.path(), encoding="utf-8").read()  # noqa: SIM115
    header, *lines = text.strip().splitlines()
    assert header.endswith("audit_seq")
    applied = AuditEvent.objects.get(action="grant.applied", target_id=str(sam.pk))
    assert any(line.startswith(f"{sam.pk},") and ",applied," in line and line.endswith(f",{applied.seq}")
               for line in lines)  # fmt: skip
    assert AuditEvent.objects.filter(action="access_report.exported", actor=auditor).exists()
