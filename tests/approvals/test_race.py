"""Concurrent approvals on PostgreSQL: the request row lock and the decision constraint make
two approvers racing on a one-approval request produce exactly one approval and one grant."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from approvals import services
from approvals.exceptions import AlreadyDecided
from approvals.models import AccessRequest, Decision, Grant
from audit.models import AuditEvent
from tests.approvals.conftest import make_dataset, make_user, make_workspace

pytestmark = pytest.mark.django_db(transaction=True)


def _race(users: list[Any], request_id: Any, verdict: str) -> list[BaseException | str]:
    barrier = threading.Barrier(len(users))
    outcomes: list[BaseException | str] = []
    lock = threading.Lock()

    def decide(user: Any) -> None:
        try:
            barrier.wait(timeout=10)
            services.decide(user, str(request_id), verdict, "racing")
            result: BaseException | str = "ok"
        except BaseException as exc:
            result = exc
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=decide, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_two_approvers_racing_on_a_one_approval_request_produce_exactly_one_grant(
    require_postgres: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services.dispatch, "enqueue", lambda *a, **k: None)
    requester = make_user(username="race.requester", roles=["data_scientist"])
    approvers = [make_user(username=f"race.approver{i}", roles=["approver"]) for i in range(4)]
    ws = make_workspace(owner=requester, state="running", data_classification="confidential",
                          cloud_ref={"provider": "aws_sagemaker"})  # fmt: skip
    req = services.request_access(requester, make_dataset(slug="race"), ws, "Fraud model retraining.", 8)

    outcomes = _race(approvers, req.pk, "approve")

    assert sorted(o if isinstance(o, str) else type(o).__name__ for o in outcomes) == [
        "AlreadyDecided", "AlreadyDecided", "AlreadyDecided", "ok",
    ]  # fmt: skip
    assert all(isinstance(o, AlreadyDecided | str) for o in outcomes)
    assert AccessRequest.objects.get(pk=req.pk).state == "approved"
    assert Decision.objects.filter(request=req).count() == 1
    assert Grant.objects.filter(request=req).count() == 1
    assert AuditEvent.objects.filter(action="access_request.approved").count() == 1
    assert AuditEvent.objects.filter(action="access_request.decision_refused").count() == 3


def test_the_same_approver_submitting_twice_at_once_counts_once(
    require_postgres: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services.dispatch, "enqueue", lambda *a, **k: None)
    requester = make_user(username="race.requester", roles=["data_scientist"])
    approver = make_user(username="race.approver", roles=["approver"])
    ws = make_workspace(owner=requester, state="running", data_classification="restricted",
                          cloud_ref={"provider": "aws_sagemaker"})  # fmt: skip
    ds = make_dataset(slug="race-pii", classification="restricted")
    req = services.request_access(requester, ds, ws, "KYC remediation project.", 8)

    outcomes = _race([approver, approver], req.pk, "approve")

    assert sorted(o if isinstance(o, str) else type(o).__name__ for o in outcomes) == ["AlreadyDecided", "ok"]
    assert Decision.objects.filter(request=req).count() == 1
    assert AccessRequest.objects.get(pk=req.pk).state == "pending"  # restricted: still needs a second person
