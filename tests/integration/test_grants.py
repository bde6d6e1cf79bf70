"""Data-access grants end to end: the services on the web side, a real Celery worker over Redis
and PostgreSQL, and the AWS stand-in (moto) over real HTTP. Approval puts a time-bound policy on
the workspace role; the expiry task (given a ``now`` past the expiry, since the worker is another
process and cannot share a frozen clock) removes it and expires the request."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from approvals import services
from approvals.models import AccessRequest, Grant
from approvals.tasks import expire_grants
from audit.models import AuditEvent
from tests.approvals.conftest import make_dataset, make_user, make_workspace
from tests.fixtures.celery_worker import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

ROLE = "enclave-grantit01-role"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
         "Action": "sts:AssumeRole"}]}  # fmt: skip


def _worker_env(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


@pytest.fixture
def grant_worker(aws_stand_in: Any, fake_arm: Any, celery_worker: Any) -> Any:
    """The session's worker, checked to talk to this session's AWS stand-in."""
    env = _worker_env(celery_worker.proc.pid) if os.path.exists(f"/proc/{celery_worker.proc.pid}") else {}
    if env and env.get("ENCLAVE_AWS_ENDPOINT_URL") != aws_stand_in.url:
        pytest.fail("the Celery worker started before the AWS stand-in: request aws_stand_in before celery_worker")
    return celery_worker


@pytest.fixture
def world(transactional_db: Any, clean_aws: Any) -> Any:
    clean_aws.iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))
    scientist = make_user(username="int.scientist", roles=["data_scientist"])
    approver = make_user(username="int.approver", roles=["approver"])
    ws = make_workspace(
        owner=scientist, state="running", data_classification="confidential",
        cloud_ref={"provider": "aws_sagemaker", "resource_name": "enclave-grantit01", "resource_id": "", "extra": {}},
    )  # fmt: skip
    dataset = make_dataset(slug="cards-2025", location="s3://enclave-demo-data/cards/2025/")
    req = services.request_access(scientist, dataset, ws, "Fraud model retraining for Q3.", 2)
    return approver, req


def policies(clean_aws: Any) -> list[str]:
    return list(clean_aws.iam.list_role_policies(RoleName=ROLE)["PolicyNames"])


def state_of(req: AccessRequest) -> str:
    return str(AccessRequest.objects.values_list("state", flat=True).get(pk=req.pk))


def test_approval_puts_the_policy_on_the_role_and_expiry_removes_it(
    world: Any, grant_worker: Any, clean_aws: Any
) -> None:
    approver, req = world
    services.approve_request(approver, req, "Fine for Q3.")

    wait_for(
        lambda: state_of(req) == "active", timeout=60, what=f"the grant to be active\n{grant_worker.log()[-3000:]}"
    )
    grant = Grant.objects.get(request=req)
    name = f"enclave-grant-{grant.pk}"
    assert policies(clean_aws) == [name]
    document = clean_aws.iam.get_role_policy(RoleName=ROLE, PolicyName=name)["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    until = {"aws:CurrentTime": grant.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert all(statement["Condition"]["DateLessThan"] == until for statement in document["Statement"])
    assert grant.grant_ref["details"]["policy_document"] == document

    expire_grants.delay((grant.expires_at + timedelta(seconds=1)).isoformat())  # the beat task, run by the worker

    wait_for(lambda: not policies(clean_aws), timeout=60, what="the policy to be removed from the role")
    wait_for(
        lambda: Grant.objects.filter(pk=grant.pk, status="removed").exists(),
        timeout=30,
        what="the grant marked removed",
    )
    assert state_of(req) == "expired"
    actions = list(
        AuditEvent.objects.filter(target_id__in=[str(req.pk), str(grant.pk)])
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == [
        "access_request.requested", "access_request.approval_recorded", "access_request.approved",
        "grant.applied", "grant.expired", "grant.removed",
    ]  # fmt: skip


def test_a_denied_request_never_reaches_the_role(world: Any, grant_worker: Any, clean_aws: Any) -> None:
    approver, req = world
    services.deny_request(approver, req, "Use the aggregated mart.")
    expire_grants.delay()  # a sweep runs meanwhile: nothing to do
    wait_for(
        lambda: AuditEvent.objects.filter(action="access_request.denied", target_id=str(req.pk)).exists(),
        what="the denial to be recorded",
    )
    assert policies(clean_aws) == []
    assert not Grant.objects.filter(request=req).exists()
