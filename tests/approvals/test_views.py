"""The approvals pages: who sees what, deciding from the inbox and the request page, the
requester's pages, the catalog pages, and constant query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals import notifications, services
from approvals.models import AccessRequest, Dataset, Decision
from audit.models import AuditEvent
from tests.approvals.conftest import TaskQueue, make_dataset, make_user, make_workspace

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_inbox_shows_what_an_approver_needs_to_decide(pending: Any, approver: Any) -> None:
    page = client_for(approver).get(reverse("approvals:inbox"))
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-testid="inbox-row-{pending.pk}"' in html
    for fact in (
        "Sam Scientist",
        "Card transactions",
        "Confidential",
        "Fraud model retraining",
        "8 h",
        "1</strong> more",
    ):
        assert fact in html


def test_inbox_never_shows_the_approvers_own_request(pending: Any, scientist: Any) -> None:
    scientist.groups.add(Group.objects.get(name="approver"))
    page = client_for(scientist).get(reverse("approvals:inbox"))
    assert str(pending.pk) not in page.content.decode()


def test_approver_approves_from_the_inbox(pending: Any, approver: Any, queue: TaskQueue) -> None:
    response = client_for(approver).post(
        reverse("approvals:decide", kwargs={"pk": pending.pk}),
        {"verdict": "approve", "comment": "ok", "next": reverse("approvals:inbox")},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("approvals:inbox")
    assert AccessRequest.objects.get(pk=pending.pk).state == "approved"


def test_approver_denies_from_the_request_page_with_a_comment(pending: Any, approver: Any, queue: TaskQueue) -> None:
    client = client_for(approver)
    detail = client.get(reverse("approvals:request_detail", kwargs={"pk": pending.pk}))
    assert 'data-testid="decision-panel"' in detail.content.decode()
    client.post(reverse("approvals:decide", kwargs={"pk": pending.pk}), {"verdict": "deny", "comment": "No."})
    assert AccessRequest.objects.get(pk=pending.pk).state == "denied"


def test_self_approval_through_the_page_is_refused_and_audited(
    scientist: Any, workspace: Any, dataset: Any, queue: TaskQueue
) -> None:
    scientist.groups.add(Group.objects.get(name="approver"))
    req = services.request_access(scientist, dataset, workspace, "Fraud model retraining for Q3.", 8)
    client = client_for(scientist)
    detail = client.get(reverse("approvals:request_detail", kwargs={"pk": req.pk}))
    assert 'data-testid="decision-panel"' not in detail.content.decode()
    response = client.post(reverse("approvals:decide", kwargs={"pk": req.pk}), {"verdict": "approve"}, follow=True)
    assert "You cannot decide your own request." in response.content.decode()
    assert AccessRequest.objects.get(pk=req.pk).state == "pending"
    assert AuditEvent.objects.filter(action="access_request.decision_refused", target_id=str(req.pk)).exists()


def test_deciding_is_never_done_on_get(pending: Any, approver: Any) -> None:
    response = client_for(approver).get(reverse("approvals:decide", kwargs={"pk": pending.pk}) + "?verdict=approve")
    assert response.status_code == 405
    assert not Decision.objects.exists()


def test_signed_review_link_opens_the_request_page_and_decides_nothing(pending: Any, approver: Any) -> None:
    token = notifications.review_token(pending)
    client = client_for(approver)
    response = client.get(reverse("approvals:review_link", kwargs={"token": token}))
    assert response.status_code == 302
    assert response["Location"] == reverse("approvals:request_detail", kwargs={"pk": pending.pk})
    assert AccessRequest.objects.get(pk=pending.pk).state == "pending"


def test_altered_review_link_is_an_audited_404(pending: Any, approver: Any) -> None:
    token = notifications.review_token(pending)[:-2] + "xx"
    response = client_for(approver).get(reverse("approvals:review_link", kwargs={"token": token}))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(action="access.denied", details__reason="invalid or expired review link").exists()


def test_review_link_needs_a_signed_in_user(pending: Any) -> None:
    token = notifications.review_token(pending)
    response = Client().get(reverse("approvals:review_link", kwargs={"token": token}))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_another_scientist_gets_an_audited_404_for_a_request(pending: Any, other_scientist: Any) -> None:
    response = client_for(other_scientist).get(reverse("approvals:request_detail", kwargs={"pk": pending.pk}))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(action="access.denied", target_id=str(pending.pk)).exists()


def test_auditor_reads_a_request_but_cannot_decide_it(pending: Any, auditor: Any) -> None:
    client = client_for(auditor)
    detail = client.get(reverse("approvals:request_detail", kwargs={"pk": pending.pk}))
    assert detail.status_code == 200
    assert 'data-testid="decision-panel"' not in detail.content.decode()
    assert (
        client.post(reverse("approvals:decide", kwargs={"pk": pending.pk}), {"verdict": "approve"}).status_code == 403
    )


def test_scientist_requests_access_from_the_form(
    scientist: Any, workspace: Any, dataset: Any, approver: Any, queue: TaskQueue
) -> None:
    client = client_for(scientist)
    assert client.get(reverse("approvals:new_request")).status_code == 200
    response = client.post(
        reverse("approvals:new_request"),
        {"dataset": dataset.slug, "workspace": str(workspace.pk), "duration_hours": 8,
         "justification": "Fraud model retraining for Q3."},
    )  # fmt: skip
    assert response.status_code == 302
    assert AccessRequest.objects.get().requester == scientist


def test_form_shows_the_policy_refusal_on_the_field(scientist: Any, workspace: Any, dataset: Any) -> None:
    response = client_for(scientist).post(
        reverse("approvals:new_request"),
        {"dataset": dataset.slug, "workspace": str(workspace.pk), "duration_hours": 9999, "justification": "x" * 20},
    )
    assert response.status_code == 400
    assert "at most 168 hours" in response.content.decode()


def test_my_requests_shows_the_active_grant_with_its_expiry(
    pending: Any, approver: Any, scientist: Any, queue: TaskQueue, fake_backend: Any
) -> None:
    services.approve_request(approver, pending)
    queue.run()
    html = client_for(scientist).get(reverse("approvals:my_requests")).content.decode()
    assert f'data-testid="active-grant-{pending.pk}"' in html
    assert "left" in html
    assert "UTC" in html


def test_scientist_withdraws_with_a_post(pending: Any, scientist: Any, queue: TaskQueue) -> None:
    client = client_for(scientist)
    assert client.get(reverse("approvals:withdraw", kwargs={"pk": pending.pk})).status_code == 405
    client.post(reverse("approvals:withdraw", kwargs={"pk": pending.pk}))
    assert AccessRequest.objects.get(pk=pending.pk).state == "withdrawn"


def test_catalog_admin_creates_a_dataset_and_it_is_audited_with_after_values(catalog_admin: Any) -> None:
    services.default_policy()
    client = client_for(catalog_admin)
    response = client.post(
        reverse("approvals:dataset_create"),
        {"name": "Loans book", "slug": "loans", "classification": "confidential", "provider": "aws_sagemaker",
         "location": "s3://bank-data/loans/", "policy": services.default_policy().pk, "active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="dataset.created")
    assert event.details["after"]["location"] == "s3://bank-data/loans/"


def test_dataset_location_must_match_its_cloud(catalog_admin: Any) -> None:
    response = client_for(catalog_admin).post(
        reverse("approvals:dataset_create"),
        {"name": "Loans", "slug": "loans", "classification": "confidential", "provider": "azure_ml",
         "location": "s3://bank-data/loans/", "policy": services.default_policy().pk},
    )  # fmt: skip
    assert response.status_code == 400
    assert "storage scope" in response.content.decode()
    assert not Dataset.objects.exists()


def test_dataset_edit_records_before_and_after(catalog_admin: Any) -> None:
    ds = make_dataset(slug="loans", name="Loans")
    client_for(catalog_admin).post(
        reverse("approvals:dataset_edit", kwargs={"slug": "loans"}),
        {"name": "Loans book", "slug": "loans", "classification": "restricted", "provider": "aws_sagemaker",
         "location": ds.location, "policy": ds.policy_id, "active": "on", "description": ds.description},
    )  # fmt: skip
    event = AuditEvent.objects.get(action="dataset.updated")
    assert event.details["before"] == {"classification": "confidential", "name": "Loans"}
    assert event.details["after"] == {"classification": "restricted", "name": "Loans book"}


def test_catalog_admin_creates_a_policy(catalog_admin: Any) -> None:
    group = Group.objects.create(name="risk")
    response = client_for(catalog_admin).post(
        reverse("approvals:policy_create"),
        {"name": "Risk", "approver_group": group.pk, "approvals_required": 1, "max_duration_hours": 24,
         "second_stage_group": group.pk, "second_stage_approvals": 1},
    )  # fmt: skip
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="approval_policy.created").exists()


@pytest.mark.parametrize(
    ("name", "kwargs", "role", "status"),
    [
        ("approvals:inbox", {}, "data_scientist", 403),
        ("approvals:my_requests", {}, "approver", 403),
        ("approvals:new_request", {}, "auditor", 403),
        ("approvals:datasets", {}, "data_scientist", 403),
        ("approvals:datasets", {}, "auditor", 200),
        ("approvals:dataset_create", {}, "auditor", 403),
        ("approvals:policy_create", {}, "approver", 403),
    ],
)
def test_pages_are_for_their_roles(name: str, kwargs: dict[str, Any], role: str, status: int) -> None:
    user = make_user(username=f"u.{role}", roles=[role])
    assert client_for(user).get(reverse(name, kwargs=kwargs)).status_code == status


def _make_requests(n: int, dataset: Any) -> None:
    for i in range(n):
        requester = make_user(username=f"req.{dataset.slug}.{i}", roles=["data_scientist"])
        ws = make_workspace(owner=requester, state="running", data_classification="restricted",
                              cloud_ref={"provider": "aws_sagemaker"})  # fmt: skip
        services.request_access(requester, dataset, ws, "Fraud model retraining for Q3.", 8)


def test_inbox_query_count_does_not_grow_with_rows(approver: Any, queue: TaskQueue) -> None:
    client = client_for(approver)
    _make_requests(2, make_dataset(slug="a"))
    client.get(reverse("approvals:inbox"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("approvals:inbox"))
    _make_requests(6, make_dataset(slug="b"))
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("approvals:inbox"))
    assert page.content.decode().count('data-testid="inbox-row-') == 8
    assert len(many) == len(few)


def test_my_requests_query_count_does_not_grow_with_rows(scientist: Any, queue: TaskQueue) -> None:
    client = client_for(scientist)
    for slug in ("a", "b"):
        ws = make_workspace(owner=scientist, state="running", data_classification="restricted",
                              cloud_ref={"provider": "aws_sagemaker"})  # fmt: skip
        services.request_access(scientist, make_dataset(slug=slug), ws, "Fraud model retraining for Q3.", 8)
    client.get(reverse("approvals:my_requests"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("approvals:my_requests"))
    for slug in ("c", "d", "e"):
        ws = make_workspace(owner=scientist, state="running", data_classification="restricted",
                              cloud_ref={"provider": "aws_sagemaker"})  # fmt: skip
        services.request_access(scientist, make_dataset(slug=slug), ws, "Fraud model retraining for Q3.", 8)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("approvals:my_requests"))
    assert len(many) == len(few)
