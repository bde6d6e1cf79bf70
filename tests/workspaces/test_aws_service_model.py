"""The AWS stand-in against botocore's service models: every operation it answers or reshapes itself exists
in the model, takes the model's input (no more required, every constraint enforced), answers with the
model's output shape, and refuses only with error codes the model declares or AWS documents.

moto is lenient; what ``devtools/`` adds on top must not be, or the demo and the tests would pass against
behaviour real AWS does not have (issue 19).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import Shape

from devtools.aws_model import VALIDATION_ERROR_CODE, operation_model, service_model, shape_problems, wire_name
from devtools.moto_stand_in import DUMMY_CREDENTIALS, OWN_OPERATIONS, RESHAPED_OUTPUTS
from tests.fixtures.aws import AwsStandIn, MotoNetwork

ALL_OPERATIONS = sorted(
    {(service, op) for table in (OWN_OPERATIONS, RESHAPED_OUTPUTS) for service, ops in table.items() for op in ops}
)
OWN = [(service, op) for service, ops in OWN_OPERATIONS.items() for op in ops]

# Errors AWS returns for every operation of an API ("Common Errors" in each API reference), by the code
# the service puts on the wire: SageMaker's JSON API says ValidationException where the page says
# ValidationError; IAM's query API says ValidationError.
COMMON_ERRORS = {
    "sagemaker": {"ValidationException", "AccessDeniedException", "ThrottlingException", "InternalFailure"},
    "iam": {"ValidationError", "AccessDenied", "Throttling", "InternalFailure"},
}
# Errors AWS returns for an operation beyond what the model lists for it, each with where AWS says so.
DOCUMENTED_ERRORS = {
    # IAM answers CreateRole whose PermissionsBoundary does not exist with NoSuchEntity (404) "Scope ARN: <arn>
    # does not exist or is not attachable." (issue 12 quotes it; CloudFormation and Terraform users report the
    # same words). The model lists NoSuchEntity (NoSuchEntityException, 404) for the operations that name an
    # existing entity, PutRolePermissionsBoundary among them, but not for CreateRole.
    ("iam", "CreateRole"): {"NoSuchEntity"},
}

ROLE_ARN = "arn:aws:iam::123456789012:role/enclave-model-check-role"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
NAME = "model-check"


def valid_request(service: str, operation: str, boundary: str = "") -> dict[str, Any]:
    """A request the model accepts, with every member the backend sends (and a few it does not)."""
    boundary = boundary or "arn:aws:iam::123456789012:policy/enclave-workspace-boundary"
    requests: dict[tuple[str, str], dict[str, Any]] = {
        ("sagemaker", "CreateNotebookInstance"): {
            "NotebookInstanceName": NAME,
            "InstanceType": "ml.g4dn.xlarge",
            "RoleArn": ROLE_ARN,
            "SubnetId": "subnet-0a1b2c3d4e5f60718",
            "SecurityGroupIds": ["sg-0a1b2c3d4e5f60718"],
            "KmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9",
            "DirectInternetAccess": "Disabled",
            "RootAccess": "Disabled",
            "VolumeSizeInGB": 20,
            "PlatformIdentifier": "notebook-al2-v3",
            "Tags": [{"Key": "owner", "Value": "sam.scientist"}],
        },
        ("sagemaker", "StartNotebookInstance"): {"NotebookInstanceName": NAME},
        ("sagemaker", "StopNotebookInstance"): {"NotebookInstanceName": NAME},
        ("sagemaker", "DeleteNotebookInstance"): {"NotebookInstanceName": NAME},
        ("sagemaker", "CreatePresignedNotebookInstanceUrl"): {
            "NotebookInstanceName": NAME,
            "SessionExpirationDurationInSeconds": 1800,
        },
        ("iam", "CreateRole"): {
            "RoleName": f"{NAME}-role",
            "Path": "/",
            "AssumeRolePolicyDocument": TRUST,
            "Description": "Enclave workspace model-check: notebook execution role",
            "MaxSessionDuration": 3600,
            "PermissionsBoundary": boundary,
        },
        ("iam", "PutRolePermissionsBoundary"): {"RoleName": f"{NAME}-role", "PermissionsBoundary": boundary},
    }
    return dict(requests[(service, operation)])


def client(stand_in: AwsStandIn, service: str, *, validate: bool = True) -> Any:
    """A fresh client (its own event hooks); ``validate=False`` sends what botocore itself would refuse."""
    return boto3.session.Session().client(
        service,
        region_name=stand_in.region,
        endpoint_url=stand_in.url,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(parameter_validation=validate, retries={"mode": "standard", "max_attempts": 1}),
    )


def call(aws: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    return dict(getattr(aws, botocore.xform_name(operation))(**params))


def refusal(aws: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(aws, operation, params)
    return dict(raised.value.response)


# --- the operations exist ------------------------------------------------------------------------------


@pytest.mark.parametrize(("service", "operation"), ALL_OPERATIONS)
def test_every_operation_the_stand_in_answers_itself_is_in_botocores_model(service: str, operation: str) -> None:
    assert operation in service_model(service).operation_names


def test_the_valid_requests_used_here_are_valid_by_the_model() -> None:
    from devtools.aws_model import validate_request

    for service, operation in OWN:
        assert validate_request(service, operation, valid_request(service, operation)) is None


# --- input: required members and constraints -------------------------------------------------------------


def _required_cases() -> Iterator[Any]:
    for service, operation in OWN:
        for member in operation_model(service, operation).input_shape.required_members:
            yield pytest.param(service, operation, member, id=f"{operation}-{member}")


def _invalid_pattern_value(shape: Shape) -> str | None:
    try:
        pattern = re.compile(shape.metadata["pattern"])
    except (KeyError, re.error):
        return None
    return next((c for c in ("!", "-", "\x01", "a b", "é") if pattern.fullmatch(c) is None), None)


def _list_item(shape: Shape) -> Any:
    if shape.type_name == "structure":
        return dict.fromkeys(shape.required_members, "a")
    return shape.enum[0] if shape.enum else "a"


def _violations(shape: Shape) -> Iterator[tuple[str, Any]]:
    """(constraint, value) pairs that break one constraint of ``shape`` each, as the model states them."""
    meta = shape.metadata
    if shape.type_name == "string":
        if shape.enum:
            yield "enum", "not-a-model-value"
        if meta.get("min", 0) > 0:
            yield "min", "a" * (meta["min"] - 1)
        if "max" in meta:
            yield "max", "a" * (meta["max"] + 1)
        bad = _invalid_pattern_value(shape)
        if bad is not None:
            yield "pattern", bad
    elif shape.type_name in ("integer", "long"):
        if "min" in meta:
            yield "min", meta["min"] - 1
        if "max" in meta:
            yield "max", meta["max"] + 1
    elif shape.type_name == "list" and "max" in meta:
        yield "max", [_list_item(shape.member) for _ in range(meta["max"] + 1)]


def _constraint_cases() -> Iterator[Any]:
    for service, operation in OWN:
        for member, shape in operation_model(service, operation).input_shape.members.items():
            if service == "iam" and shape.type_name in ("list", "map", "structure"):
                continue  # IAM's lists (tags) are moto's to check; the stand-in adds only scalar checks there
            for constraint, value in _violations(shape):
                yield pytest.param(service, operation, member, value, id=f"{operation}-{member}-{constraint}")


@pytest.mark.parametrize(("service", "operation", "member"), list(_required_cases()))
def test_the_stand_in_refuses_a_request_without_a_member_the_model_requires(
    aws_stand_in: AwsStandIn, service: str, operation: str, member: str
) -> None:
    params = valid_request(service, operation)
    del params[member]

    error = refusal(client(aws_stand_in, service, validate=False), operation, params)

    assert error["Error"]["Code"] == VALIDATION_ERROR_CODE[service_model(service).protocol]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (
        f"Value null at '{wire_name(member)}' failed to satisfy constraint: Member must not be null"
        in (error["Error"]["Message"])
    )


@pytest.mark.parametrize(("service", "operation", "member", "value"), list(_constraint_cases()))
def test_the_stand_in_refuses_a_value_outside_the_models_constraints(
    aws_stand_in: AwsStandIn, service: str, operation: str, member: str, value: Any
) -> None:
    params = {**valid_request(service, operation), member: value}

    error = refusal(client(aws_stand_in, service, validate=False), operation, params)

    assert error["Error"]["Code"] == VALIDATION_ERROR_CODE[service_model(service).protocol]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    message = error["Error"]["Message"]
    assert re.match(r"^\d+ validation errors? detected: ", message), message
    assert f"at '{wire_name(member)}" in message


@pytest.mark.parametrize(("service", "operation"), OWN)
def test_the_stand_in_requires_no_member_the_model_leaves_optional(
    clean_aws: AwsStandIn, moto_network: MotoNetwork, service: str, operation: str
) -> None:
    sagemaker, iam = client(clean_aws, "sagemaker"), client(clean_aws, "iam")
    setup: dict[str, Callable[[], Any]] = {
        "StartNotebookInstance": lambda: notebook_in(sagemaker, clean_aws, "Stopped"),
        "StopNotebookInstance": lambda: notebook_in(sagemaker, clean_aws, "InService"),
        "DeleteNotebookInstance": lambda: notebook_in(sagemaker, clean_aws, "Stopped"),
        "CreatePresignedNotebookInstanceUrl": lambda: notebook_in(sagemaker, clean_aws, "InService"),
        "PutRolePermissionsBoundary": lambda: call(
            iam, "CreateRole", {"RoleName": f"{NAME}-role", "AssumeRolePolicyDocument": TRUST}
        ),
    }
    setup.get(operation, lambda: None)()
    full = valid_request(service, operation, moto_network.permissions_boundary_arn)
    required = operation_model(service, operation).input_shape.required_members
    minimal = {name: full[name] for name in required}

    response = call(sagemaker if service == "sagemaker" else iam, operation, minimal)

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


# --- output: the model's shape ---------------------------------------------------------------------------


def notebook_in(sagemaker: Any, stand_in: AwsStandIn, status: str, name: str = NAME) -> None:
    """Create (if needed) and walk notebook ``name`` to ``status`` with the stand-in's delays set to zero."""
    stand_in.set_provision_delay(0)
    try:
        sagemaker.describe_notebook_instance(NotebookInstanceName=name)
    except ClientError:
        sagemaker.create_notebook_instance(
            **{**valid_request("sagemaker", "CreateNotebookInstance"), "NotebookInstanceName": name}
        )
    steps = {"InService": "start_notebook_instance", "Stopped": "stop_notebook_instance"}
    for _ in range(6):
        current = sagemaker.describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"]
        if current == status:
            return
        if current in ("InService", "Stopped", "Failed"):
            getattr(sagemaker, steps[status])(NotebookInstanceName=name)
        time.sleep(0.05)
    raise AssertionError(f"notebook {name} did not reach {status}")


class RawResponses:
    """The bodies of the stand-in's answers, by operation, captured before botocore's parser sees them (it would
    silently drop members the model does not have)."""

    def __init__(self, aws: Any) -> None:
        self.bodies: dict[str, list[bytes]] = {}
        aws.meta.events.register("before-parse", self._record)

    def _record(self, operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        if response_dict["status_code"] != 200:
            return  # refusals are checked against the declared errors below
        self.bodies.setdefault(operation_model.name, []).append(response_dict["body"])

    def problems(self, service: str) -> list[str]:
        found = []
        for operation, bodies in self.bodies.items():
            shape = operation_model(service, operation).output_shape
            for body in bodies:
                value = json.loads(body) if body.strip() else {}
                found += [f"{operation}: {p}" for p in shape_problems(shape, value)]
        return found


def test_the_stand_ins_sagemaker_answers_have_the_models_output_shape(clean_aws: AwsStandIn) -> None:
    sagemaker = client(clean_aws, "sagemaker")
    raw = RawResponses(sagemaker)
    clean_aws.inject_fault("CreateNotebookInstance", failure_reason="The subnet has no free IP addresses.")
    clean_aws.set_provision_delay(0)

    sagemaker.create_notebook_instance(
        **{**valid_request("sagemaker", "CreateNotebookInstance"), "NotebookInstanceName": "fails"}
    )
    for status in ("InService", "Stopped", "InService"):  # created, stopped, started again
        notebook_in(sagemaker, clean_aws, status)
    sagemaker.create_presigned_notebook_instance_url(NotebookInstanceName=NAME)
    sagemaker.list_notebook_instances()
    notebook_in(sagemaker, clean_aws, "Stopped")
    failed = sagemaker.describe_notebook_instance(NotebookInstanceName="fails")
    sagemaker.list_notebook_instances()
    sagemaker.delete_notebook_instance(NotebookInstanceName="fails")

    assert set(raw.bodies) >= {*OWN_OPERATIONS["sagemaker"], *RESHAPED_OUTPUTS["sagemaker"]}
    assert raw.problems("sagemaker") == []
    assert (failed["NotebookInstanceStatus"], failed["FailureReason"]) == (
        "Failed",
        "The subnet has no free IP addresses.",
    )
    assert sagemaker.describe_notebook_instance(NotebookInstanceName=NAME)["InstanceType"] == "ml.g4dn.xlarge"


def test_the_stand_ins_iam_answers_have_the_models_output_shape(
    clean_aws: AwsStandIn, moto_network: MotoNetwork
) -> None:
    iam = client(clean_aws, "iam")
    boundary = moto_network.permissions_boundary_arn

    created = call(iam, "CreateRole", valid_request("iam", "CreateRole", boundary))
    put = call(iam, "PutRolePermissionsBoundary", valid_request("iam", "PutRolePermissionsBoundary", boundary))

    # botocore itself decodes IAM's URL-encoded policy documents into dicts after parsing; put them back
    created["Role"]["AssumeRolePolicyDocument"] = json.dumps(created["Role"]["AssumeRolePolicyDocument"])
    for operation, response in (("CreateRole", created), ("PutRolePermissionsBoundary", put)):
        response.pop("ResponseMetadata")
        assert shape_problems(operation_model("iam", operation).output_shape, response) == [], operation
    assert created["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary


# --- errors: declared by the model or documented by AWS --------------------------------------------------


def assert_known_error(service: str, operation: str, error: dict[str, Any]) -> None:
    code = error["Error"]["Code"]
    status = error["ResponseMetadata"]["HTTPStatusCode"]
    declared = {
        (shape.metadata.get("error") or {}).get("code", shape.name): shape
        for shape in operation_model(service, operation).error_shapes
    }
    documented = DOCUMENTED_ERRORS.get((service, operation), set())
    assert code in {*declared, *COMMON_ERRORS[service], *documented}, f"{operation} answered {code}"
    if code in declared or code in documented:
        shapes = {
            (s.metadata.get("error") or {}).get("code", s.name): s
            for s in (service_model(service).shape_for(n) for n in service_model(service).shape_names)
            if s.metadata.get("exception")
        }
        expected = (shapes[code].metadata.get("error") or {}).get("httpStatusCode", 400)
        assert status == expected, f"{operation} answered {code} with HTTP {status}, the model says {expected}"


def test_every_refusal_of_the_stand_ins_sagemaker_operations_is_a_known_error(clean_aws: AwsStandIn) -> None:
    sagemaker = client(clean_aws, "sagemaker")
    refusals = [
        ("StartNotebookInstance", {"NotebookInstanceName": "nowhere"}),
        ("StopNotebookInstance", {"NotebookInstanceName": "nowhere"}),
        ("DeleteNotebookInstance", {"NotebookInstanceName": "nowhere"}),
        ("CreatePresignedNotebookInstanceUrl", {"NotebookInstanceName": "nowhere"}),
    ]
    for operation, params in refusals:
        error = refusal(sagemaker, operation, params)
        assert_known_error("sagemaker", operation, error)
        assert error["Error"]["Message"] == "RecordNotFound"

    notebook_in(sagemaker, clean_aws, "InService")
    for operation in ("StartNotebookInstance", "DeleteNotebookInstance"):
        error = refusal(sagemaker, operation, {"NotebookInstanceName": NAME})
        assert_known_error("sagemaker", operation, error)
        assert error["Error"]["Message"].startswith("Status (InService) not in ([Stopped, Failed])")
    notebook_in(sagemaker, clean_aws, "Stopped")
    error = refusal(sagemaker, "StopNotebookInstance", {"NotebookInstanceName": NAME})
    assert_known_error("sagemaker", "StopNotebookInstance", error)
    assert error["Error"]["Message"].startswith("Status (Stopped) not in ([InService])")


def test_every_refusal_of_the_stand_ins_iam_operations_is_a_known_error(
    clean_aws: AwsStandIn, moto_network: MotoNetwork
) -> None:
    iam = client(clean_aws, "iam")
    missing = f"arn:aws:iam::{moto_network.account_id}:policy/no-such-boundary"
    call(iam, "CreateRole", valid_request("iam", "CreateRole", moto_network.permissions_boundary_arn))

    create = refusal(iam, "CreateRole", {**valid_request("iam", "CreateRole", missing), "RoleName": "other"})
    put = refusal(iam, "PutRolePermissionsBoundary", valid_request("iam", "PutRolePermissionsBoundary", missing))
    invalid = refusal(client(clean_aws, "iam", validate=False), "CreateRole", {"RoleName": "x"})

    assert_known_error("iam", "CreateRole", create)
    assert_known_error("iam", "PutRolePermissionsBoundary", put)
    assert_known_error("iam", "CreateRole", invalid)
    assert {create["Error"]["Code"], put["Error"]["Code"], invalid["Error"]["Code"]} == {
        "NoSuchEntity",
        "ValidationError",
    }
