"""The fake ARM refuses what Azure's published definition does not declare, in ARM's words, over HTTPS."""

from __future__ import annotations

import copy
import json
import re
import uuid
from typing import Any

import pytest
import requests

from devtools.fake_arm import FakeArmHandle
from tests.fixtures.azure import FAKE_TENANT_ID, SUBSCRIPTION, make_spec
from workspaces.backends.azureml import API_VERSION, AUTHORIZATION_API_VERSION, build_compute_instance_body

COMPUTE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices"
    "/workspaces/mlw-research/computes/ci-definition"
)
SCOPE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-data"
ROLE_DEFINITION = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{uuid.uuid4()}"
UNDESERIALIZABLE = "The request content was invalid and could not be deserialized: "


def send(fake: FakeArmHandle, method: str, path: str, body: Any = None, api_version: str = API_VERSION) -> Any:
    return requests.request(
        method,
        f"{fake.url}{path}?api-version={api_version}",
        data=None if body is None else json.dumps(body),
        headers={"Authorization": f"Bearer {fake.token}", "Content-Type": "application/json"},
        verify=fake.ca_path,
        timeout=10,
    )


def create_body() -> dict[str, Any]:
    return copy.deepcopy(build_compute_instance_body(make_spec(), tenant_id=FAKE_TENANT_ID))


def refusal(response: Any) -> str:
    """The ARM message of a 400 InvalidRequestContent, with Json.NET's line/position made generic."""
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "InvalidRequestContent"
    return re.sub(r"line \d+, position \d+", "line L, position P", str(error["message"]))


def test_a_create_body_the_definition_declares_is_accepted(clean_fake_arm: FakeArmHandle) -> None:
    assert send(clean_fake_arm, "PUT", COMPUTE, create_body()).status_code == 201


def test_an_undeclared_property_is_refused_as_azure_words_it(clean_fake_arm: FakeArmHandle) -> None:
    body = create_body()
    body["properties"]["properties"]["publicIpAddress"] = "None"

    response = send(clean_fake_arm, "PUT", COMPUTE, body)

    assert refusal(response) == (
        f"{UNDESERIALIZABLE}'Could not find member 'publicIpAddress' on object of type 'ComputeInstanceProperties'. "
        "Path 'properties.properties.publicIpAddress', line L, position P.'."
    )
    assert clean_fake_arm.state.computes == {}


def test_a_wrong_enum_value_is_refused_as_azure_words_it(clean_fake_arm: FakeArmHandle) -> None:
    body = create_body()
    body["properties"]["properties"]["sshSettings"]["sshPublicAccess"] = "Closed"

    response = send(clean_fake_arm, "PUT", COMPUTE, body)

    assert refusal(response) == (
        f"{UNDESERIALIZABLE}'Error converting value \"Closed\" to type 'SshPublicAccess'. "
        "Path 'properties.properties.sshSettings.sshPublicAccess', line L, position P.'."
    )


def test_a_value_of_the_wrong_type_is_refused(clean_fake_arm: FakeArmHandle) -> None:
    body = create_body()
    body["properties"]["properties"]["enableNodePublicIp"] = "false"

    response = send(clean_fake_arm, "PUT", COMPUTE, body)

    assert "Error converting value \"false\" to type 'System.Boolean'" in refusal(response)


def test_a_read_only_property_in_a_create_body_is_refused(clean_fake_arm: FakeArmHandle) -> None:
    body = create_body()
    body["properties"]["provisioningState"] = "Succeeded"

    assert "Could not find member 'provisioningState' on object of type 'ComputeInstance'" in refusal(
        send(clean_fake_arm, "PUT", COMPUTE, body)
    )


def test_an_undeclared_property_in_a_patch_is_refused(clean_fake_arm: FakeArmHandle) -> None:
    send(clean_fake_arm, "PUT", COMPUTE, create_body())

    response = send(clean_fake_arm, "PATCH", COMPUTE, {"properties": {"idleTimeBeforeShutdown": "PT30M"}})

    assert "Could not find member 'idleTimeBeforeShutdown' on object of type 'ClusterUpdateProperties'" in refusal(
        response
    )


def test_a_role_assignment_with_an_unknown_principal_type_is_refused(clean_fake_arm: FakeArmHandle) -> None:
    body = {"properties": {"roleDefinitionId": ROLE_DEFINITION, "principalId": str(uuid.uuid4())}}
    body["properties"]["principalType"] = "App"
    path = f"{SCOPE}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"

    response = send(clean_fake_arm, "PUT", path, body, api_version=AUTHORIZATION_API_VERSION)

    assert refusal(response) == (
        f"{UNDESERIALIZABLE}'Error converting value \"App\" to type 'PrincipalType'. "
        "Path 'properties.principalType', line L, position P.'."
    )


def test_a_role_assignment_with_an_undeclared_property_is_refused(clean_fake_arm: FakeArmHandle) -> None:
    body = {"properties": {"roleDefinitionId": ROLE_DEFINITION, "principalId": str(uuid.uuid4()), "expiresOn": "x"}}
    path = f"{SCOPE}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"

    response = send(clean_fake_arm, "PUT", path, body, api_version=AUTHORIZATION_API_VERSION)

    assert "Could not find member 'expiresOn' on object of type 'RoleAssignmentProperties'" in refusal(response)


def test_deleting_a_compute_that_does_not_exist_answers_204(clean_fake_arm: FakeArmHandle) -> None:
    response = send(clean_fake_arm, "DELETE", COMPUTE)

    assert response.status_code == 204
    assert response.content == b""


@pytest.mark.parametrize("version", ["2024-04-01", "2020-08-01"])
def test_only_the_api_version_with_a_published_definition_is_served(
    clean_fake_arm: FakeArmHandle, version: str
) -> None:
    response = send(clean_fake_arm, "PUT", COMPUTE, create_body(), api_version=version)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "NoRegisteredProviderFound"
