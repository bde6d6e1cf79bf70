"""Grants against the AWS stand-in (moto) through the real SageMaker backend: what lands on
the workspace role — and what does not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from approvals import services, tasks
from approvals.models import Grant
from tests.approvals.conftest import TaskQueue, make_dataset, make_workspace

pytestmark = pytest.mark.django_db

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
         "Action": "sts:AssumeRole"}]}  # fmt: skip


@pytest.fixture
def moto_world(clean_aws: Any, scientist: Any, monkeypatch: pytest.MonkeyPatch, sagemaker_backend: Any) -> Any:
    monkeypatch.setattr(tasks, "backend_for", lambda provider: sagemaker_backend)
    clean_aws.iam.create_role(RoleName="enclave-moto1-role", AssumeRolePolicyDocument=json.dumps(TRUST))
    ws = make_workspace(
        owner=scientist, state="running", data_classification="confidential",
        cloud_ref={"provider": "aws_sagemaker", "resource_name": "enclave-moto1", "resource_id": "", "extra": {}},
    )  # fmt: skip
    ds = make_dataset(slug="cards-2025", location="s3://enclave-demo-data/cards/2025/")
    return services.request_access(scientist, ds, ws, "Fraud model retraining for Q3.", 8)


def role_policies(clean_aws: Any) -> list[str]:
    return list(clean_aws.iam.list_role_policies(RoleName="enclave-moto1-role")["PolicyNames"])


def test_denied_request_applies_nothing_in_moto(
    moto_world: Any, approver: Any, queue: TaskQueue, clean_aws: Any
) -> None:
    services.deny_request(approver, moto_world, "Use the aggregated mart.")
    queue.run()
    assert role_policies(clean_aws) == []
    assert not Grant.objects.exists()


def test_approved_request_puts_a_time_bound_policy_on_the_workspace_role(
    moto_world: Any, approver: Any, queue: TaskQueue, clean_aws: Any
) -> None:
    services.approve_request(approver, moto_world)
    queue.run()
    grant = Grant.objects.get(request=moto_world)
    assert role_policies(clean_aws) == [f"enclave-grant-{grant.pk}"]
    document = clean_aws.iam.get_role_policy(RoleName="enclave-moto1-role", PolicyName=f"enclave-grant-{grant.pk}")[
        "PolicyDocument"
    ]
    document = json.loads(document) if isinstance(document, str) else document
    read = document["Statement"][0]
    assert read["Resource"] == ["arn:aws:s3:::enclave-demo-data/cards/2025/*"]
    assert read["Condition"]["DateLessThan"]["aws:CurrentTime"] == grant.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert grant.grant_ref["details"]["policy_document"] == document
