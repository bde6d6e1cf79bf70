"""A permissions boundary that does not exist: IAM's refusal in the stand-in, the readable failure of the
workspace, the catalog's ``boundary_policy_exists`` check, and the demo seed that creates the demo's boundary."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devtools.aws_seed import BOUNDARY_POLICY_NAME, seed_demo
from devtools.moto_stand_in import DUMMY_CREDENTIALS, start_stand_in
from tests.fixtures.aws import AwsStandIn, MotoNetwork
from tests.workspaces.test_backend_sagemaker import workspace_spec
from workspaces.backends.base import InvalidCloudRequest
from workspaces.backends.sagemaker import SageMakerBackend

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def missing_boundary(network: MotoNetwork) -> str:
    return f"arn:aws:iam::{network.account_id}:policy/no-such-boundary"


def test_iam_refuses_a_role_whose_boundary_policy_does_not_exist(
    clean_aws: AwsStandIn, moto_network: MotoNetwork
) -> None:
    arn = missing_boundary(moto_network)

    with pytest.raises(ClientError) as raised:
        clean_aws.iam.create_role(RoleName="r1", AssumeRolePolicyDocument=TRUST, PermissionsBoundary=arn)

    error = raised.value.response
    assert error["Error"]["Code"] == "NoSuchEntity"
    assert error["Error"]["Message"] == f"Scope ARN: {arn} does not exist or is not attachable."
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert clean_aws.iam.list_roles()["Roles"] == []


def test_iam_refuses_to_put_a_boundary_policy_that_does_not_exist_on_a_role(
    clean_aws: AwsStandIn, moto_network: MotoNetwork
) -> None:
    clean_aws.iam.create_role(
        RoleName="r1", AssumeRolePolicyDocument=TRUST, PermissionsBoundary=moto_network.permissions_boundary_arn
    )
    arn = missing_boundary(moto_network)

    with pytest.raises(ClientError) as raised:
        clean_aws.iam.put_role_permissions_boundary(RoleName="r1", PermissionsBoundary=arn)

    assert raised.value.response["Error"]["Code"] == "NoSuchEntity"
    assert raised.value.response["Error"]["Message"] == f"Scope ARN: {arn} does not exist or is not attachable."
    role = clean_aws.iam.get_role(RoleName="r1")["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == moto_network.permissions_boundary_arn


def test_a_boundary_policy_of_another_account_counts_as_missing(
    clean_aws: AwsStandIn, moto_network: MotoNetwork
) -> None:
    elsewhere = moto_network.permissions_boundary_arn.replace(moto_network.account_id, "210987654321")

    with pytest.raises(ClientError, match="NoSuchEntity"):
        clean_aws.iam.create_role(RoleName="r1", AssumeRolePolicyDocument=TRUST, PermissionsBoundary=elsewhere)


def test_provisioning_with_a_missing_boundary_fails_naming_the_policy_and_builds_nothing(
    sagemaker_backend: SageMakerBackend,
    sagemaker_hardening: dict[str, Any],
    moto_network: MotoNetwork,
    clean_aws: AwsStandIn,
) -> None:
    arn = missing_boundary(moto_network)

    with pytest.raises(InvalidCloudRequest) as raised:
        sagemaker_backend.provision(workspace_spec({**sagemaker_hardening, "permissions_boundary_arn": arn}))

    message = raised.value.user_message
    assert message.startswith(f"The template's IAM permissions boundary policy {arn} does not exist")
    assert f"AWS said: Scope ARN: {arn} does not exist or is not attachable." in message
    assert raised.value.provider_code == "NoSuchEntity"
    assert raised.value.retryable is False
    assert clean_aws.iam.list_roles()["Roles"] == []
    assert clean_aws.sagemaker.list_notebook_instances()["NotebookInstances"] == []
    with pytest.raises(ClientError, match="does not exist"):
        clean_aws.sagemaker.describe_notebook_instance_lifecycle_config(
            NotebookInstanceLifecycleConfigName="enclave-3f2a9c1d4e5b-lc"
        )


def test_a_workspace_whose_template_names_a_missing_boundary_fails_with_that_message(
    db: Any, task_queue: Any, sagemaker_hardening: dict[str, Any], moto_network: MotoNetwork
) -> None:
    from tests.factories import TemplateVersionFactory, UserFactory
    from workspaces import services
    from workspaces.models import Workspace
    from workspaces.tasks import provision_workspace

    arn = missing_boundary(moto_network)
    template: Any = TemplateVersionFactory(
        template__slug="sm-no-boundary",
        template__provider="aws_sagemaker",
        spec={**sagemaker_hardening, "permissions_boundary_arn": arn},
    ).template
    owner = UserFactory(username="bo.boundary", roles=["data_scientist"], cost_centre="CC-1234")
    ws = services.request_workspace(owner, template.slug, "no boundary", "ml.t3.medium", None, "internal")

    provision_workspace.apply(args=[str(ws.pk)])

    ws = Workspace.objects.get(pk=ws.pk)
    assert ws.state == "failed"
    assert arn in ws.last_error
    assert "does not exist" in ws.last_error
    assert ws.last_error_code == "NoSuchEntity"


def test_boundary_policy_exists_tells_an_existing_policy_from_a_missing_one(
    sagemaker_backend: SageMakerBackend, moto_network: MotoNetwork
) -> None:
    assert sagemaker_backend.boundary_policy_exists(moto_network.permissions_boundary_arn) is True
    assert sagemaker_backend.boundary_policy_exists(missing_boundary(moto_network)) is False
    assert sagemaker_backend.boundary_policy_exists("arn:aws:iam::123456789012:policy/not a name") is False


def test_boundary_policy_exists_cannot_tell_when_the_portal_may_not_read_iam_policies(
    sagemaker_backend: SageMakerBackend, moto_network: MotoNetwork, clean_aws: AwsStandIn
) -> None:
    clean_aws.inject_fault("GetPolicy", "AccessDenied", "not authorized to perform: iam:GetPolicy", status=403)

    assert sagemaker_backend.boundary_policy_exists(moto_network.permissions_boundary_arn) is None


def test_the_demo_seed_creates_the_boundary_every_demo_aws_template_names(
    clean_aws: AwsStandIn, sagemaker_backend: SageMakerBackend
) -> None:
    from catalog.demo import DEMO_TEMPLATES

    boundaries = {t["spec"]["permissions_boundary_arn"] for t in DEMO_TEMPLATES if t["provider"] == "aws_sagemaker"}
    assert all(sagemaker_backend.boundary_policy_exists(arn) is False for arn in boundaries)

    seeded = seed_demo(clean_aws.url, clean_aws.region)
    assert seed_demo(clean_aws.url, clean_aws.region) == seeded  # idempotent

    assert boundaries <= set(seeded)
    assert all(sagemaker_backend.boundary_policy_exists(arn) is True for arn in boundaries)


def test_the_stand_in_started_with_seed_demo_already_holds_the_demo_boundary() -> None:
    url, stop = start_stand_in(0, provision_delay=0.1, seed_demo=True)
    try:
        iam = boto3.client(
            "iam",
            region_name="eu-west-1",
            endpoint_url=url,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        names = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    finally:
        stop()
    assert names == [BOUNDARY_POLICY_NAME]
