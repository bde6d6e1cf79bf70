"""The request page speaks the requester's language: a refused click is not a denial, and the
approvals row counts what the decisions table lists."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from approvals import services
from core.errors import DomainError

pytestmark = pytest.mark.django_db


def _page(user: Any, req: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.get(reverse("approvals:request_detail", kwargs={"pk": req.pk})).content.decode()


def test_an_approvers_refused_deny_without_comment_does_not_read_as_a_denial_to_the_requester(
    pending: Any, approver: Any, scientist: Any
) -> None:
    with pytest.raises(DomainError):
        services.decide(approver, pending, "deny", "")

    page = _page(scientist, pending)

    assert "A decision attempt was not accepted" in page
    assert "the request itself was not decided" in page
    assert "decision_refused · denied" not in page
    assert ">access_request.decision_refused<" not in page  # the code is only in the tooltip


def test_the_approvals_row_counts_the_approvals_in_the_decisions_table(
    pending: Any, approver: Any, scientist: Any
) -> None:
    services.decide(approver, pending, "approve", "Fine for Q3.")

    page = _page(scientist, pending)

    assert 'data-testid="still-needed">—<' not in page
    assert "1 of 1 received" in page
