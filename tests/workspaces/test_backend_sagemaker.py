"""SageMakerBackend against the AWS stand-in over real HTTP; outcomes are read back from AWS with boto3."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.aws import AwsStandIn, MotoNetwork
from workspaces.backends.base import (
    CloudAccessDenied,
    CloudConflict,
    CloudError,
    CloudQuotaExceeded,
    CloudRef,
    CloudState,
    CloudStatus,
    DataGrantSpec,
    InvalidCloudRequest,
    Provider,
    Throttled,
    TransientCloudError,
    WorkspaceSpec,
)
from workspaces.backends.sagemaker import SageMakerBackend


def workspace_spec(
    hardening: dict[str, Any], resource_name: str = "enclave-3f2a9c1d4e5b", **tags: str
) -> WorkspaceSpec:
    return WorkspaceSpec(
        workspace_id="3f2a9c1d-4e5b-4c1d-9e5b-3f2a9c1d4e5b",
        resource_name=resource_name,
        owner_username="sam.scientist",
        owner_cloud_id="",
        template_slug="secure-python",
        template_version=3,
        instance_type="ml.t3.medium",
        volume_size_gb=20,
        data_classification="confidential",
        cost_centre="CC-1234",
        hardening=hardening,
        tags={
            "enclave:managed": "true",
            "enclave:workspace": resource_name,
            "owner": "sam.scientist",
            "cost-centre": "CC-1234",
            **tags,
        },
    )


def wait_for(check: Callable[[], CloudStatus], state: CloudState, timeout: float = 6.0) -> CloudStatus:
    deadline = time.monotonic() + timeout
    status = check()
    while status.state is not state and time.monotonic() < deadline:
        time.sleep(0.2)
        status = check()
    assert status.state is state, f"still {status.state} ({status.raw_status}) after {timeout}s"
    return status


def delete_until_gone(backend: SageMakerBackend, ref: CloudRef, timeout: float = 10.0) -> list[CloudState]:
    seen: list[CloudState] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = backend.delete(ref).state
        if not seen or seen[-1] is not state:
            seen.append(state)
        if state is CloudState.DELETED:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"not deleted after {timeout}s: {seen}")


@pytest.fixture
def running(sagemaker_backend: SageMakerBackend, sagemaker_hardening: dict[str, Any]) -> CloudRef:
    ref = sagemaker_backend.provision(workspace_spec(sagemaker_hardening))
    wait_for(lambda: sagemaker_backend.describe(ref), CloudState.RUNNING)
    return ref


def test_provision_builds_a_notebook_with_internet_and_root_disabled_on_the_template_network_and_key(
    sagemaker_backend: SageMakerBackend,
    sagemaker_hardening: dict[str, Any],
    moto_network: MotoNetwork,
    clean_aws: AwsStandIn,
) -> None:
    ref = sagemaker_backend.provision(workspace_spec(sagemaker_hardening))

    notebook = clean_aws.sagemaker.describe_notebook_instance(NotebookInstanceName="enclave-3f2a9c1d4e5b")
    assert notebook["NotebookInstanceArn"] == ref.resource_id
    assert notebook["DirectInternetAccess"] == "Disabled"
    assert notebook["RootAccess"] == "Disabled"
    assert notebook["KmsKeyId"] == moto_network.kms_key_arn
    assert notebook["SubnetId"] == moto_network.subnet_id
    assert notebook["SecurityGroups"] == [moto_network.security_group_id]
    assert notebook["InstanceType"] == "ml.t3.medium"
    assert notebook["VolumeSizeInGB"] == 20
    assert notebook["PlatformIdentifier"] == "notebook-al2-v3"
    assert notebook["NotebookInstanceLifecycleConfigName"] == "enclave-3f2a9c1d4e5b-lc"
    assert notebook["RoleArn"] == ref.extra["role_arn"]


def test_provision_tags_the_notebook_with_every_tag_of_the_spec(
    sagemaker_backend: SageMakerBackend, sagemaker_hardening: dict[str, Any], clean_aws: AwsStandIn
) -> None:
    spec = workspace_spec(sagemaker_hardening)

    ref = sagemaker_backend.provision(spec)

    tags = clean_aws.sagemaker.list_tags(ResourceArn=ref.resource_id)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == dict(spec.tags)


def test_provision_creates_an_execution_role_fenced_by_the_permissions_boundary(
    sagemaker_backend: SageMakerBackend,
    sagemaker_hardening: dict[str, Any],
    moto_network: MotoNetwork,
    clean_aws: AwsStandIn,
) -> None:
    ref = sagemaker_backend.provision(workspace_spec(sagemaker_hardening))

    role = clean_aws.iam.get_role(RoleName="enclave-3f2a9c1d4e5b-role")["Role"]
    assert role["Arn"] == ref.extra["role_arn"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == moto_network.permissions_boundary_arn
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert {t["Key"]: t["Value"] for t in role["Tags"]}["owner"] == "sam.scientist"
    base = clean_aws.iam.get_role_policy(RoleName="enclave-3f2a9c1d4e5b-role", PolicyName="enclave-base")
    kms = next(s for s in base["PolicyDocument"]["Statement"] if s["Sid"] == "TemplateKey")
    assert kms["Resource"] == moto_network.kms_key_arn
    assert sorted(kms["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_provision_installs_an_idle_auto_stop_before_the_template_script(
    sagemaker_backend: SageMakerBackend, sagemaker_hardening: dict[str, Any], clean_aws: AwsStandIn
) -> None:
    hardening = {**sagemaker_hardening, "extra_lifecycle_script": "pip install --quiet enclave-helpers"}

    sagemaker_backend.provision(workspace_spec(hardening))

    config = clean_aws.sagemaker.describe_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName="enclave-3f2a9c1d4e5b-lc"
    )
    script = base64.b64decode(config["OnStart"][0]["Content"]).decode()
    assert "autostop.py 45" in script
    assert "stop-notebook-instance" in script
    assert script.index("autostop.py") < script.index("pip install --quiet enclave-helpers")


def test_provision_twice_adopts_the_existing_notebook(
    sagemaker_backend: SageMakerBackend, sagemaker_hardening: dict[str, Any], clean_aws: AwsStandIn
) -> None:
    first = sagemaker_backend.provision(workspace_spec(sagemaker_hardening))

    second = sagemaker_backend.provision(workspace_spec(sagemaker_hardening))

    assert second == first
    assert len(clean_aws.sagemaker.list_notebook_instances()["NotebookInstances"]) == 1


def test_notebook_goes_from_pending_to_running_after_the_provisioning_delay(
    sagemaker_backend: SageMakerBackend, sagemaker_hardening: dict[str, Any]
) -> None:
    ref = sagemaker_backend.provision(workspace_spec(sagemaker_hardening))

    assert sagemaker_backend.describe(ref).state is CloudState.PENDING
    status = wait_for(lambda: sagemaker_backend.describe(ref), CloudState.RUNNING)
    assert status.raw_status == "InService"
    assert status.hardening["direct_internet_access"] == "Disabled"
    assert status.tags["enclave:managed"] == "true"


def test_stopping_a_pending_notebook_is_a_retryable_conflict(
    sagemaker_backend: SageMakerBackend, sagemaker_hardening: dict[str, Any]
) -> None:
    ref = sagemaker_backend.provision(workspace_spec(sagemaker_hardening))

    with pytest.raises(CloudConflict, match="still starting") as raised:
        sagemaker_backend.stop(ref)
    assert raised.value.retryable is True


def test_stop_then_start_steps_through_stopped_back_to_running(
    sagemaker_backend: SageMakerBackend, running: CloudRef
) -> None:
    sagemaker_backend.stop(running)
    sagemaker_backend.stop(running)
    assert sagemaker_backend.describe(running).state is CloudState.STOPPING
    wait_for(lambda: sagemaker_backend.describe(running), CloudState.STOPPED)

    sagemaker_backend.start(running)
    sagemaker_backend.start(running)

    assert sagemaker_backend.describe(running).state is CloudState.PENDING
    wait_for(lambda: sagemaker_backend.describe(running), CloudState.RUNNING)


def test_delete_steps_through_to_deleted_and_removes_the_role_and_lifecycle_config(
    sagemaker_backend: SageMakerBackend, running: CloudRef, clean_aws: AwsStandIn
) -> None:
    seen = delete_until_gone(sagemaker_backend, running)

    assert seen[0] is CloudState.STOPPING
    assert CloudState.DELETING in seen
    assert seen[-1] is CloudState.DELETED
    assert sagemaker_backend.describe(running).state is CloudState.DELETED
    with pytest.raises(ClientError, match="does not exist"):
        clean_aws.sagemaker.describe_notebook_instance_lifecycle_config(
            NotebookInstanceLifecycleConfigName="enclave-3f2a9c1d4e5b-lc"
        )
    assert [r["RoleName"] for r in clean_aws.iam.list_roles()["Roles"]] == []
    assert sagemaker_backend.delete(running).state is CloudState.DELETED


def test_open_url_returns_a_link_that_opens_the_notebook(
    sagemaker_backend: SageMakerBackend, running: CloudRef
) -> None:
    url = sagemaker_backend.open_url(running, username="sam.scientist", session_seconds=60)

    with urllib.request.urlopen(url, timeout=5) as response:
        page = response.read().decode()
    assert response.status == 200
    assert "notebook enclave-3f2a9c1d4e5b" in page


def test_reaching_the_instance_limit_raises_quota_exceeded_with_a_readable_message(
    sagemaker_backend: SageMakerBackend, sagemaker_hardening: dict[str, Any], clean_aws: AwsStandIn
) -> None:
    clean_aws.inject_fault(
        "CreateNotebookInstance",
        "ResourceLimitExceeded",
        "The account-level service limit 'ml.t3.medium for notebook instance usage' is 2 Instances.",
    )

    with pytest.raises(CloudQuotaExceeded) as raised:
        sagemaker_backend.provision(workspace_spec(sagemaker_hardening))

    message = raised.value.user_message
    assert message.startswith("AWS refused: the account's limit for this instance type is reached")
    assert "'ml.t3.medium for notebook instance usage' is 2 Instances" in message
    assert "testing" not in message
    assert raised.value.retryable is False


def test_throttling_that_outlasts_botocore_retries_raises_throttled(
    clean_aws: AwsStandIn, sagemaker_hardening: dict[str, Any]
) -> None:
    backend = SageMakerBackend(region=clean_aws.region, endpoint_url=clean_aws.url, max_attempts=1)
    clean_aws.inject_fault("CreateNotebookInstance", "ThrottlingException", "Rate exceeded", count=2)

    with pytest.raises(Throttled) as raised:
        backend.provision(workspace_spec(sagemaker_hardening))

    assert raised.value.retryable is True
    assert clean_aws.faults() == []


def test_a_single_throttle_is_absorbed_by_botocore_retries(
    clean_aws: AwsStandIn, sagemaker_hardening: dict[str, Any]
) -> None:
    backend = SageMakerBackend(region=clean_aws.region, endpoint_url=clean_aws.url, max_attempts=1)
    clean_aws.inject_fault("CreateNotebookInstance", "ThrottlingException", "Rate exceeded", count=1)

    ref = backend.provision(workspace_spec(sagemaker_hardening))

    assert backend.describe(ref).state is CloudState.PENDING


def test_grant_puts_a_prefix_scoped_policy_that_expires_with_aws_current_time(
    sagemaker_backend: SageMakerBackend, running: CloudRef, clean_aws: AwsStandIn
) -> None:
    expires = datetime(2031, 5, 17, 9, 30, tzinfo=UTC)
    grant = DataGrantSpec("g-42", "claims-2024", "s3://prod-claims/2024/", expires)

    applied = sagemaker_backend.grant_data_access(running, grant)

    stored = clean_aws.iam.get_role_policy(RoleName="enclave-3f2a9c1d4e5b-role", PolicyName="enclave-grant-g-42")
    statements = {s["Sid"]: s for s in stored["PolicyDocument"]["Statement"]}
    assert statements["ReadDatasetObjects"]["Resource"] == ["arn:aws:s3:::prod-claims/2024/*"]
    assert statements["ListDatasetPrefix"]["Condition"]["StringLike"] == {"s3:prefix": ["2024/*"]}
    for statement in statements.values():
        assert statement["Condition"]["DateLessThan"] == {"aws:CurrentTime": "2031-05-17T09:30:00Z"}
    assert applied.details["policy_document"] == json.loads(json.dumps(stored["PolicyDocument"]))


def test_revoke_removes_the_grant_policy_and_tolerates_repeats(
    sagemaker_backend: SageMakerBackend, running: CloudRef, clean_aws: AwsStandIn
) -> None:
    grant = DataGrantSpec("g-42", "claims-2024", "s3://prod-claims/2024/", datetime.now(UTC) + timedelta(days=7))
    applied = sagemaker_backend.grant_data_access(running, grant)

    sagemaker_backend.revoke_data_access(running, applied)
    sagemaker_backend.revoke_data_access(running, applied)

    policies = clean_aws.iam.list_role_policies(RoleName="enclave-3f2a9c1d4e5b-role")["PolicyNames"]
    assert policies == ["enclave-base"]


def test_inventory_returns_only_enclave_managed_notebooks(
    sagemaker_backend: SageMakerBackend, sagemaker_hardening: dict[str, Any], clean_aws: AwsStandIn
) -> None:
    ours = sagemaker_backend.provision(workspace_spec(sagemaker_hardening))
    clean_aws.sagemaker.create_notebook_instance(
        NotebookInstanceName="someone-elses-notebook",
        InstanceType="ml.t3.medium",
        RoleArn="arn:aws:iam::123456789012:role/other",
        Tags=[{"Key": "team", "Value": "other"}],
    )

    found = list(sagemaker_backend.inventory())

    assert [s.ref.resource_name for s in found] == [ours.resource_name]
    assert found[0].ref.resource_id == ours.resource_id
    assert found[0].state is CloudState.PENDING


def test_a_notebook_that_fails_to_start_reports_failed_with_the_aws_reason(
    sagemaker_backend: SageMakerBackend, sagemaker_hardening: dict[str, Any], clean_aws: AwsStandIn
) -> None:
    clean_aws.inject_fault("CreateNotebookInstance", failure_reason="The subnet has no free IP addresses.")

    ref = sagemaker_backend.provision(workspace_spec(sagemaker_hardening))

    status = wait_for(lambda: sagemaker_backend.describe(ref), CloudState.FAILED)
    assert status.message == "The subnet has no free IP addresses."


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("AccessDeniedException", 400, CloudAccessDenied),
        ("ValidationException", 400, InvalidCloudRequest),
        ("ServiceUnavailable", 503, TransientCloudError),
        ("InternalFailure", 500, TransientCloudError),
        ("RequestLimitExceeded", 400, Throttled),
    ],
)
def test_aws_errors_become_the_matching_cloud_error(
    clean_aws: AwsStandIn, code: str, status: int, error: type[CloudError]
) -> None:
    backend = SageMakerBackend(region=clean_aws.region, endpoint_url=clean_aws.url, max_attempts=0)
    clean_aws.inject_fault("DescribeNotebookInstance", code, "Injected by the test.", status=status, count=None)

    with pytest.raises(error) as raised:
        backend.describe(CloudRef(Provider.AWS_SAGEMAKER, "enclave-3f2a9c1d4e5b"))

    assert type(raised.value) is error
    assert "Injected by the test." in raised.value.user_message
    assert raised.value.provider_code in (code, str(status))


def test_provision_requests_the_instance_type_the_workspace_asked_for(
    sagemaker_backend: SageMakerBackend, sagemaker_hardening: dict[str, Any], clean_aws: AwsStandIn
) -> None:
    spec = replace(workspace_spec(sagemaker_hardening), instance_type="ml.g4dn.xlarge")

    sagemaker_backend.provision(spec)

    notebook = clean_aws.sagemaker.describe_notebook_instance(NotebookInstanceName=spec.resource_name)
    assert notebook["InstanceType"] == "ml.g4dn.xlarge"
