"""The Azure ML backend against the fake ARM: the real Azure SDK over real HTTPS, no database."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests
from azure.identity import DefaultAzureCredential
from azure.mgmt.machinelearningservices.models import ComputeResource

from devtools.fake_arm import FakeArmHandle
from tests.fixtures.azure import (
    COMPUTES,
    DATASET_SCOPE,
    FAKE_TENANT_ID,
    OWNER_OBJECT_ID,
    SUBNET,
    SUBSCRIPTION,
    make_grant,
    make_spec,
    wait_for,
)
from workspaces.backends.azureml import (
    API_VERSION,
    MAX_INLINE_RETRY_AFTER,
    RETRY_TOTAL,
    STORAGE_BLOB_DATA_READER,
    AzureMLBackend,
    StaticTokenCredential,
    build_compute_instance_body,
    compute_name_for,
)
from workspaces.backends.base import (
    CloudAccessDenied,
    CloudQuotaExceeded,
    CloudState,
    InvalidCloudRequest,
    Throttled,
    WorkspaceBackend,
)


def compute_puts(fake: FakeArmHandle) -> list[dict[str, Any]]:
    return fake.requests(method="PUT", path_contains=COMPUTES)


def test_backend_satisfies_the_workspace_backend_protocol(azure_backend: AzureMLBackend) -> None:
    assert isinstance(azure_backend, WorkspaceBackend)


def test_create_request_carries_the_network_and_access_baseline(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    azure_backend.provision(make_spec())

    (put,) = compute_puts(clean_fake_arm)
    instance = put["body"]["properties"]["properties"]
    assert put["query"]["api-version"] == API_VERSION == "2025-12-01"
    assert instance["enableNodePublicIp"] is False
    assert instance["sshSettings"] == {"sshPublicAccess": "Disabled"}
    assert instance["subnet"] == {"id": SUBNET}
    assert instance["idleTimeBeforeShutdown"] == "PT45M"
    assert instance["vmSize"] == "Standard_DS3_v2"


def test_create_request_assigns_the_instance_to_its_owner_only(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    azure_backend.provision(make_spec())

    (put,) = compute_puts(clean_fake_arm)
    instance = put["body"]["properties"]["properties"]
    assert instance["personalComputeInstanceSettings"] == {
        "assignedUser": {"objectId": OWNER_OBJECT_ID, "tenantId": FAKE_TENANT_ID}
    }
    assert instance["computeInstanceAuthorizationType"] == "personal"
    assert instance["applicationSharingPolicy"] == "Personal"
    assert put["body"]["identity"] == {"type": "SystemAssigned"}


def test_create_request_carries_the_workspace_tags_and_the_managed_marker(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    azure_backend.provision(make_spec())

    (put,) = compute_puts(clean_fake_arm)
    assert put["body"]["tags"] == {
        "owner": "sam.scientist",
        "cost-centre": "CC-1234",
        "data-classification": "confidential",
        "enclave:managed": "true",
        "enclave:workspace-id": "3f2a9c1d-4e5b-4c6d-8e7f-0123456789ab",
    }


def test_body_uses_the_sdk_field_names_and_only_adds_the_two_newer_controls() -> None:
    body = build_compute_instance_body(make_spec(), tenant_id=FAKE_TENANT_ID)

    round_tripped = ComputeResource.deserialize(body).serialize()

    sent = body["properties"]["properties"]
    understood = round_tripped["properties"]["properties"]
    assert set(sent) - set(understood) == {"enableNodePublicIp", "idleTimeBeforeShutdown"}
    assert {k: sent[k] for k in understood} == understood
    assert round_tripped["identity"] == body["identity"]


def test_provisioning_twice_creates_one_compute_instance(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    first = azure_backend.provision(make_spec())
    second = azure_backend.provision(make_spec())

    assert first == second
    assert len(compute_puts(clean_fake_arm)) == 1


def test_provision_returns_the_arm_id_and_the_compute_identity(azure_backend: AzureMLBackend) -> None:
    ref = azure_backend.provision(make_spec())

    assert ref.resource_id == (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices"
        "/workspaces/mlw-research/computes/enclave-3f2a9c1d4e5b"
    )
    assert ref.extra["subscription_id"] == SUBSCRIPTION
    assert ref.extra["resource_group"] == "rg-ml"
    assert ref.extra["workspace_name"] == "mlw-research"
    assert ref.extra["compute_name"] == "enclave-3f2a9c1d4e5b"
    assert uuid.UUID(ref.extra["principal_id"])


def test_provision_does_not_wait_for_the_compute_to_be_ready(azure_backend: AzureMLBackend) -> None:
    ref = azure_backend.provision(make_spec())

    assert azure_backend.describe(ref).state is CloudState.PENDING


def test_compute_instance_reaches_running_after_the_creation_delay(azure_backend: AzureMLBackend) -> None:
    ref = azure_backend.provision(make_spec())

    assert wait_for(azure_backend, ref, CloudState.RUNNING) is CloudState.RUNNING


def test_describe_reads_back_the_hardening_azure_applied(azure_backend: AzureMLBackend) -> None:
    ref = azure_backend.provision(make_spec())

    status = azure_backend.describe(ref)

    assert status.hardening == {
        "vm_size": "Standard_DS3_v2",
        "subnet_id": SUBNET,
        "enable_node_public_ip": False,
        "ssh_public_access": "Disabled",
        "assigned_user_object_id": OWNER_OBJECT_ID,
        "idle_time_before_shutdown": "PT45M",
        "idle_shutdown_confirmed": True,
        "identity_type": "SystemAssigned",
        "api_version": "2025-12-01",
    }
    assert status.tags["enclave:managed"] == "true"


def test_failed_creation_is_reported_with_azures_message(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    ref = azure_backend.provision(make_spec())
    clean_fake_arm.set_compute_state(ref.resource_name, "CreateFailed", ["Subnet snet-compute has no free addresses."])

    status = azure_backend.describe(ref)

    assert status.state is CloudState.FAILED
    assert status.raw_status == "CreateFailed"
    assert "Subnet snet-compute has no free addresses." in status.message


def test_describe_of_a_missing_compute_is_deleted(azure_backend: AzureMLBackend) -> None:
    ref = azure_backend.provision(make_spec())
    azure_backend.delete(ref)

    assert wait_for(azure_backend, ref, CloudState.DELETED) is CloudState.DELETED


def test_stop_then_start_brings_the_compute_back_to_running(azure_backend: AzureMLBackend) -> None:
    ref = azure_backend.provision(make_spec())
    wait_for(azure_backend, ref, CloudState.RUNNING)

    azure_backend.stop(ref)
    assert azure_backend.describe(ref).state is CloudState.STOPPING
    assert wait_for(azure_backend, ref, CloudState.STOPPED) is CloudState.STOPPED

    azure_backend.start(ref)
    assert azure_backend.describe(ref).state is CloudState.STARTING
    assert wait_for(azure_backend, ref, CloudState.RUNNING) is CloudState.RUNNING


def test_stopping_a_stopped_compute_sends_no_stop_request(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    ref = azure_backend.provision(make_spec())
    wait_for(azure_backend, ref, CloudState.RUNNING)
    azure_backend.stop(ref)
    wait_for(azure_backend, ref, CloudState.STOPPED)

    azure_backend.stop(ref)

    assert len(clean_fake_arm.requests(method="POST", path_contains="/stop")) == 1


def test_starting_a_running_compute_sends_no_start_request(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    ref = azure_backend.provision(make_spec())
    wait_for(azure_backend, ref, CloudState.RUNNING)

    azure_backend.start(ref)

    assert clean_fake_arm.requests(method="POST", path_contains="/start") == []


def test_delete_advances_to_deleted_one_step_per_call(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    ref = azure_backend.provision(make_spec())
    wait_for(azure_backend, ref, CloudState.RUNNING)

    assert azure_backend.delete(ref).state is CloudState.DELETING
    assert azure_backend.delete(ref).state is CloudState.DELETING
    deadline = time.monotonic() + 10
    while azure_backend.delete(ref).state is not CloudState.DELETED and time.monotonic() < deadline:
        time.sleep(0.1)

    assert azure_backend.delete(ref).state is CloudState.DELETED
    (delete,) = clean_fake_arm.requests(method="DELETE", path_contains=COMPUTES)
    assert delete["query"]["underlyingResourceAction"] == "Delete"


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (
            400,
            "QuotaExceeded",
            "Operation results in exceeding quota limits of Core. Maximum allowed: 24, Current in use: 24, "
            "Additional requested: 4.",
        ),
        (409, "OperationNotAllowed", "The requested VM size would exceed the regional vCPU quota for this family."),
    ],
)
def test_quota_refusal_raises_quota_exceeded_with_azures_message(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle, status: int, code: str, message: str
) -> None:
    clean_fake_arm.inject_fault(method="PUT", path_contains=COMPUTES, status=status, code=code, message=message)

    with pytest.raises(CloudQuotaExceeded) as excinfo:
        azure_backend.provision(make_spec())

    assert excinfo.value.user_message.startswith("Azure refused to create the compute instance: ")
    assert message in excinfo.value.user_message
    assert excinfo.value.provider_code == code
    assert not excinfo.value.retryable


def test_azure_rejecting_the_request_raises_invalid_request(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    clean_fake_arm.inject_fault(
        method="PUT", path_contains=COMPUTES, status=400, code="BadRequest", message="Subnet is not delegated."
    )

    with pytest.raises(InvalidCloudRequest, match="Subnet is not delegated"):
        azure_backend.provision(make_spec())


def test_a_single_throttle_is_retried_after_retry_after_and_succeeds(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    ref = azure_backend.provision(make_spec())
    clean_fake_arm.clear_requests()
    clean_fake_arm.inject_fault(
        method="GET", path_contains=COMPUTES, status=429, code="TooManyRequests", retry_after=1, count=1
    )

    azure_backend.describe(ref)

    first, second = clean_fake_arm.requests(method="GET", path_contains=COMPUTES)
    assert (first["status"], second["status"]) == (429, 200)
    assert second["time"] - first["time"] >= 1.0


def test_a_throttled_create_is_resent_with_the_same_body(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    clean_fake_arm.inject_fault(
        method="PUT", path_contains=COMPUTES, status=429, code="TooManyRequests", retry_after=1, count=1
    )

    azure_backend.provision(make_spec())

    first, second = compute_puts(clean_fake_arm)
    assert (first["status"], second["status"]) == (429, 201)
    assert first["body"] == second["body"]


def test_persistent_throttling_raises_throttled_with_retry_after(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    clean_fake_arm.inject_fault(
        method="GET",
        path_contains=COMPUTES,
        status=429,
        code="TooManyRequests",
        message="Too many requests for subscription.",
        retry_after=1,
        count=None,
    )

    with pytest.raises(Throttled) as excinfo:
        azure_backend.provision(make_spec())

    assert excinfo.value.retry_after == 1.0
    assert excinfo.value.retryable
    assert "Too many requests for subscription." in excinfo.value.user_message
    assert len(clean_fake_arm.requests(method="GET")) == RETRY_TOTAL + 1


def test_a_long_retry_after_is_not_slept_in_the_worker(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    long_wait = MAX_INLINE_RETRY_AFTER * 10
    clean_fake_arm.inject_fault(
        method="GET", path_contains=COMPUTES, status=429, code="TooManyRequests", retry_after=long_wait, count=None
    )
    started = time.monotonic()

    with pytest.raises(Throttled) as excinfo:
        azure_backend.provision(make_spec())

    assert time.monotonic() - started < MAX_INLINE_RETRY_AFTER
    assert excinfo.value.retry_after == long_wait
    assert len(clean_fake_arm.requests(method="GET")) == 1


def test_grant_assigns_blob_reader_at_the_dataset_scope_to_the_compute_identity(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    ref = azure_backend.provision(make_spec())
    principal_id = azure_backend.describe(ref).ref.extra["principal_id"]

    grant = azure_backend.grant_data_access(ref, make_grant())

    (put,) = clean_fake_arm.requests(method="PUT", path_contains="/roleAssignments/")
    assert put["path"].startswith(DATASET_SCOPE + "/providers/Microsoft.Authorization/roleAssignments/")
    assert put["body"]["properties"]["principalId"] == principal_id
    assert put["body"]["properties"]["principalType"] == "ServicePrincipal"
    assert put["body"]["properties"]["roleDefinitionId"].endswith(f"/roleDefinitions/{STORAGE_BLOB_DATA_READER}")
    assert grant.details["scope"] == DATASET_SCOPE
    assert grant.details["principal_id"] == principal_id
    assert grant.details["assignment_id"] == put["path"]


def test_granting_twice_adopts_the_existing_assignment(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    ref = azure_backend.provision(make_spec())

    first = azure_backend.grant_data_access(ref, make_grant())
    second = azure_backend.grant_data_access(ref, make_grant())

    assert second.details["assignment_id"] == first.details["assignment_id"]
    assert len(clean_fake_arm.state.role_assignments) == 1


def test_granting_adopts_the_same_assignment_made_under_another_name(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    ref = azure_backend.provision(make_spec())
    principal_id = azure_backend.describe(ref).ref.extra["principal_id"]
    other_name = str(uuid.uuid4())
    requests.put(
        f"{clean_fake_arm.url}{DATASET_SCOPE}/providers/Microsoft.Authorization/roleAssignments/{other_name}"
        "?api-version=2022-04-01",
        json={
            "properties": {
                "roleDefinitionId": f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
                f"{STORAGE_BLOB_DATA_READER}",
                "principalId": principal_id,
            }
        },
        headers={"Authorization": f"Bearer {clean_fake_arm.token}"},
        verify=clean_fake_arm.ca_path,
        timeout=10,
    ).raise_for_status()

    grant = azure_backend.grant_data_access(ref, make_grant())
    azure_backend.revoke_data_access(ref, grant)

    assert grant.details["assignment_name"] == other_name
    assert clean_fake_arm.state.role_assignments == {}


def test_revoke_deletes_the_assignment(azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle) -> None:
    ref = azure_backend.provision(make_spec())
    grant = azure_backend.grant_data_access(ref, make_grant())

    azure_backend.revoke_data_access(ref, grant)

    assert clean_fake_arm.state.role_assignments == {}


def test_revoking_an_already_removed_grant_is_a_no_op(azure_backend: AzureMLBackend) -> None:
    ref = azure_backend.provision(make_spec())
    grant = azure_backend.grant_data_access(ref, make_grant())
    azure_backend.revoke_data_access(ref, grant)

    azure_backend.revoke_data_access(ref, grant)


def test_a_wrong_token_is_access_denied_without_leaking_the_token(clean_fake_arm: FakeArmHandle) -> None:
    wrong_token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ3cm9uZyJ9.c2lnbmF0dXJl"
    backend = AzureMLBackend(
        arm_endpoint=clean_fake_arm.url,
        credential=StaticTokenCredential(wrong_token),
        connection_verify=clean_fake_arm.ca_path,
        tenant_id=FAKE_TENANT_ID,
    )

    with pytest.raises(CloudAccessDenied) as excinfo:
        backend.provision(make_spec())

    assert "The access token is invalid." in excinfo.value.user_message
    assert wrong_token not in excinfo.value.user_message
    assert clean_fake_arm.state.computes == {}


def test_a_spec_breaking_the_template_is_refused_before_calling_azure(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    with pytest.raises(InvalidCloudRequest, match="Standard_NC24"):
        azure_backend.provision(make_spec(instance_type="Standard_NC24"))

    assert clean_fake_arm.requests() == []


def test_inventory_lists_only_compute_instances_enclave_manages(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    ref = azure_backend.provision(make_spec())
    unmanaged = f"{ref.resource_id.rsplit('/', 1)[0]}/someone-elses-ci"
    body = build_compute_instance_body(make_spec(), tenant_id=FAKE_TENANT_ID)
    body["tags"] = {"owner": "someone"}
    requests.put(
        f"{clean_fake_arm.url}{unmanaged}?api-version={API_VERSION}",
        json=body,
        headers={"Authorization": f"Bearer {clean_fake_arm.token}"},
        verify=clean_fake_arm.ca_path,
        timeout=10,
    ).raise_for_status()

    found = list(azure_backend.inventory())

    assert [status.ref.resource_id for status in found] == [ref.resource_id]


def test_inventory_covers_configured_workspaces_without_prior_calls(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    ref = azure_backend.provision(make_spec())
    fresh = AzureMLBackend(
        arm_endpoint=clean_fake_arm.url,
        credential=StaticTokenCredential(clean_fake_arm.token),
        connection_verify=clean_fake_arm.ca_path,
        known_workspaces=[(SUBSCRIPTION, "rg-ml", "mlw-research")],
    )

    assert [status.ref.resource_name for status in fresh.inventory()] == [ref.resource_name]


def test_open_url_deep_links_to_the_compute_in_azure_ml_studio(azure_backend: AzureMLBackend) -> None:
    ref = azure_backend.provision(make_spec())

    url = azure_backend.open_url(ref, username="sam.scientist", session_seconds=900)

    assert url == (
        "https://ml.azure.com/compute/enclave-3f2a9c1d4e5b/details?wsid="
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices"
        f"/workspaces/mlw-research&tid={FAKE_TENANT_ID}"
    )


def test_backend_from_settings_talks_to_the_configured_endpoint(clean_fake_arm: FakeArmHandle) -> None:
    backend = AzureMLBackend.from_settings()

    ref = backend.provision(make_spec())

    assert backend.describe(ref).state is CloudState.PENDING
    assert compute_puts(clean_fake_arm)[0]["body"]["properties"]["properties"]["personalComputeInstanceSettings"] == {
        "assignedUser": {"objectId": OWNER_OBJECT_ID, "tenantId": FAKE_TENANT_ID}
    }


def test_static_token_is_never_used_for_the_real_azure(settings: Any) -> None:
    settings.ENCLAVE_AZURE_ARM_ENDPOINT = ""
    settings.ENCLAVE_AZURE_STATIC_TOKEN = "token-meant-for-the-fake"

    backend = AzureMLBackend.from_settings()

    assert isinstance(backend._credential, DefaultAzureCredential)


@pytest.mark.parametrize(
    "resource_name",
    ["enclave-3f2a9c1d4e5b", "Enclave_Workspace_For_A_Very_Long_Project_Name", "42-starts-with-a-digit"],
)
def test_compute_names_are_deterministic_and_valid_for_azure(resource_name: str) -> None:
    name = compute_name_for(resource_name)

    assert compute_name_for(resource_name) == name
    assert 3 <= len(name) <= 24
    assert name[0].isalpha()
    assert all(c.isalnum() or c == "-" for c in name)
    assert not name.endswith("-")
