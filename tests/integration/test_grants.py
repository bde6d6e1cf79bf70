"""Data-access grants end to end: the services on the web side, a real Celery worker over Redis
and PostgreSQL, and the cloud stand-ins over real HTTP. On AWS (moto) approval puts a time-bound
policy on the workspace role; on Azure (the fake ARM) it assigns Storage Blob Data Reader at the
dataset's storage scope to the compute instance's managed identity. The expiry task (given a
``now`` past the expiry, since the worker is another process and cannot share a frozen clock)
removes either and expires the request."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from approvals import services
from approvals.models import AccessRequest, Grant
from approvals.tasks import expire_grants
from audit.models import AuditEvent
from tests.approvals.conftest import make_dataset, make_user, make_workspace
from tests.factories import azureml_spec
from tests.fixtures.celery_worker import wait_for
from workspaces import services as workspace_services
from workspaces.backends.azureml import STORAGE_BLOB_DATA_READER, AzureMLBackend

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

ROLE = "enclave-grantit01-role"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
         "Action": "sts:AssumeRole"}]}  # fmt: skip


def _worker_env(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


@pytest.fixture
def grant_worker(aws_stand_in: Any, fake_arm: Any, celery_worker: Any) -> Any:
    """The session's worker, checked to talk to this session's AWS stand-in and fake ARM."""
    env = _worker_env(celery_worker.proc.pid) if os.path.exists(f"/proc/{celery_worker.proc.pid}") else {}
    if env and env.get("ENCLAVE_AWS_ENDPOINT_URL") != aws_stand_in.url:
        pytest.fail("the Celery worker started before the AWS stand-in: request aws_stand_in before celery_worker")
    if env and env.get("ENCLAVE_AZURE_ARM_ENDPOINT") != fake_arm.url:
        pytest.fail("the Celery worker started before the fake ARM: request fake_arm before celery_worker")
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


# What an auditor sees of a grant approved, applied, expired and removed, in order.
FULL_GRANT_LIFE = [
    "access_request.requested", "access_request.approval_recorded", "access_request.approved",
    "grant.applied", "grant.expired", "grant.removed",
]  # fmt: skip


def expire_and_wait_for_removal(grant: Grant, removed_from_cloud: Callable[[], bool], what: str) -> None:
    """Run the beat's expiry sweep on the worker (with a ``now`` just past the grant's expiry: the worker
    cannot share a frozen clock), then wait until the cloud permission is gone and the grant is marked removed."""
    expire_grants.delay((grant.expires_at + timedelta(seconds=1)).isoformat())
    wait_for(removed_from_cloud, timeout=60, what=what)
    wait_for(
        lambda: Grant.objects.filter(pk=grant.pk, status="removed").exists(),
        timeout=30,
        what="the grant marked removed",
    )


def audit_trail(req: AccessRequest, grant: Grant) -> list[str]:
    """The audit actions recorded against the request and its grant, oldest first."""
    return list(
        AuditEvent.objects.filter(target_id__in=[str(req.pk), str(grant.pk)])
        .order_by("seq")
        .values_list("action", flat=True)
    )


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

    expire_and_wait_for_removal(grant, lambda: not policies(clean_aws), "the policy to be removed from the role")
    assert state_of(req) == "expired"
    assert audit_trail(req, grant) == FULL_GRANT_LIFE


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


# --- Azure: a role assignment at the dataset's storage scope ---------------------------------------

AZURE_SUBSCRIPTION = "5f1c2a3b-0000-4000-8000-000000000001"
AZURE_SCOPE = (
    f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts"
    "/stenclavecards/blobServices/default/containers/cards-2025"
)


def assignments(fake_arm: Any) -> list[dict[str, Any]]:
    with fake_arm.state.lock:
        return [dict(a["properties"]) for a in fake_arm.state.role_assignments.values()]


def set_identity(fake_arm: Any, compute_name: str, identity: dict[str, Any] | None) -> dict[str, Any] | None:
    """Take away (``None``) or give back the compute's managed identity; returns the one it had."""
    with fake_arm.state.lock:
        (compute,) = [c for c in fake_arm.state.computes.values() if c.resource["name"] == compute_name]
        before = compute.resource.pop("identity", None)
        if identity is not None:
            compute.resource["identity"] = identity
        return before


@pytest.fixture
def azure_world(transactional_db: Any, azure_backend: AzureMLBackend) -> Any:
    """An approver, and a scientist's running Azure workspace whose compute instance exists in the fake ARM,
    with a pending request to read a confidential dataset held in an Azure storage container."""
    scientist = make_user(username="int.azure.scientist", roles=["data_scientist"])
    approver = make_user(username="int.azure.approver", roles=["approver"])
    ws = make_workspace(
        owner=scientist, state="running", data_classification="confidential",
        template_version__template__provider="azure_ml",
        template_version__spec=azureml_spec(subscription_id=AZURE_SUBSCRIPTION),
    )  # fmt: skip
    ref = azure_backend.provision(workspace_services.build_spec(ws))
    ws.cloud_ref = ref.to_json()
    ws.save(update_fields=["cloud_ref"])
    dataset = make_dataset(slug="cards-2025-azure", provider="azure_ml", location=AZURE_SCOPE)
    req = services.request_access(scientist, dataset, ws, "Fraud model retraining for Q3.", 2)
    return approver, req, ws


def test_approval_assigns_blob_reader_to_the_compute_identity_and_expiry_removes_it(
    azure_world: Any, grant_worker: Any, clean_fake_arm: Any
) -> None:
    approver, req, ws = azure_world
    principal_id = ws.cloud_ref["extra"]["principal_id"]
    services.approve_request(approver, req, "Fine for Q3.")

    wait_for(
        lambda: state_of(req) == "active", timeout=60, what=f"the grant to be active\n{grant_worker.log()[-3000:]}"
    )
    grant = Grant.objects.get(request=req)
    (assignment,) = assignments(clean_fake_arm)
    assert assignment["principalId"] == principal_id
    assert assignment["principalType"] == "ServicePrincipal"
    assert assignment["scope"] == AZURE_SCOPE
    assert assignment["roleDefinitionId"] == (
        f"/subscriptions/{AZURE_SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
        f"{STORAGE_BLOB_DATA_READER}"
    )
    assert grant.grant_ref["details"]["scope"] == AZURE_SCOPE
    assert grant.grant_ref["details"]["principal_id"] == principal_id

    expire_and_wait_for_removal(grant, lambda: not assignments(clean_fake_arm), "the role assignment to be removed")
    assert state_of(req) == "expired"
    assert clean_fake_arm.requests(method="DELETE", path_contains=grant.grant_ref["details"]["assignment_name"])
    assert audit_trail(req, grant) == FULL_GRANT_LIFE


def test_a_grant_made_before_the_compute_has_an_identity_is_retried_until_it_applies(
    azure_world: Any, grant_worker: Any, clean_fake_arm: Any
) -> None:
    approver, req, ws = azure_world
    # Azure assigns a compute's managed identity some time after creating it: until then the
    # portal has no principal id recorded and Azure shows none.
    ws.cloud_ref = {**ws.cloud_ref, "extra": {k: v for k, v in ws.cloud_ref["extra"].items() if k != "principal_id"}}
    ws.save(update_fields=["cloud_ref"])
    identity = set_identity(clean_fake_arm, ws.resource_name, None)
    assert identity is not None

    services.approve_request(approver, req, "Fine for Q3.")

    failed = wait_for(
        lambda: AuditEvent.objects.filter(action="grant.apply_failed").first(),
        timeout=60,
        what=f"the first attempt to fail\n{grant_worker.log()[-3000:]}",
    )
    assert failed.details["code"] == "conflict"
    assert failed.details["will_retry"] is True
    assert "no managed identity yet" in failed.details["message"]
    assert state_of(req) == "approved"
    assert assignments(clean_fake_arm) == []

    set_identity(clean_fake_arm, ws.resource_name, identity)  # Azure finishes assigning it

    wait_for(
        lambda: state_of(req) == "active", timeout=60, what=f"the retried grant to apply\n{grant_worker.log()[-3000:]}"
    )
    (assignment,) = assignments(clean_fake_arm)
    assert assignment["principalId"] == identity["principalId"]
    assert assignment["scope"] == AZURE_SCOPE
    assert Grant.objects.get(request=req).last_error == ""
