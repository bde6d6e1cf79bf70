"""The Azure backend confirms the baseline by reading it back, treats a published 204 delete as deleted,
and records the api-version of its calls; against the fake ARM, which Azure's definition holds."""

from __future__ import annotations

from devtools.fake_arm import FakeArmHandle
from tests.fixtures.azure import COMPUTES, make_grant, make_spec, wait_for
from workspaces.backends.azureml import API_VERSION, AUTHORIZATION_API_VERSION, AzureMLBackend
from workspaces.backends.base import CloudState


def test_a_running_compute_reports_its_idle_shutdown_as_confirmed(azure_backend: AzureMLBackend) -> None:
    ref = azure_backend.provision(make_spec())

    assert wait_for(azure_backend, ref, CloudState.RUNNING) is CloudState.RUNNING
    status = azure_backend.describe(ref)
    assert status.hardening["idle_time_before_shutdown"] == "PT45M"
    assert status.hardening["idle_shutdown_confirmed"] is True


def test_a_compute_whose_idle_shutdown_azure_dropped_is_never_reported_running(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    clean_fake_arm.drop_instance_property("idleTimeBeforeShutdown")
    ref = azure_backend.provision(make_spec())

    assert wait_for(azure_backend, ref, CloudState.FAILED) is CloudState.FAILED
    status = azure_backend.describe(ref)
    assert status.raw_status == "Running"
    assert status.hardening["idle_shutdown_confirmed"] is False
    assert "idle shutdown" in status.message
    assert "asked for PT45M, Azure reports none" in status.message


def test_an_idle_shutdown_azure_reports_differently_is_not_confirmed(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    ref = azure_backend.provision(make_spec())
    wait_for(azure_backend, ref, CloudState.RUNNING)
    (compute,) = clean_fake_arm.state.computes.values()
    with clean_fake_arm.state.lock:
        compute.resource["properties"]["properties"]["idleTimeBeforeShutdown"] = "PT4H"

    assert azure_backend.describe(ref).state is CloudState.FAILED


def test_the_same_idle_shutdown_written_differently_is_confirmed(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    ref = azure_backend.provision(make_spec(hardening={"idle_shutdown_minutes": 60}))
    wait_for(azure_backend, ref, CloudState.RUNNING)
    (compute,) = clean_fake_arm.state.computes.values()
    with clean_fake_arm.state.lock:
        compute.resource["properties"]["properties"]["idleTimeBeforeShutdown"] = "PT1H"

    assert azure_backend.describe(ref).state is CloudState.RUNNING


def test_a_compute_that_vanishes_before_the_delete_is_deleted_on_azures_204(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    ref = azure_backend.provision(make_spec())
    wait_for(azure_backend, ref, CloudState.RUNNING)
    clean_fake_arm.vanish_before_next_delete(ref.resource_name)

    status = azure_backend.delete(ref)

    assert status.state is CloudState.DELETED
    (delete,) = clean_fake_arm.requests(method="DELETE", path_contains=COMPUTES)
    assert delete["status"] == 204


def test_the_ref_records_the_requested_idle_shutdown_and_the_api_version(azure_backend: AzureMLBackend) -> None:
    ref = azure_backend.provision(make_spec())

    assert ref.extra["idle_time_before_shutdown"] == "PT45M"
    assert ref.extra["api_version"] == API_VERSION


def test_every_compute_call_uses_the_declared_api_version(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    ref = azure_backend.provision(make_spec())
    wait_for(azure_backend, ref, CloudState.RUNNING)
    azure_backend.stop(ref)
    list(azure_backend.inventory())
    azure_backend.delete(ref)

    versions = {r["query"]["api-version"] for r in clean_fake_arm.requests(path_contains="/computes")}
    assert versions == {API_VERSION}


def test_a_grant_records_the_authorization_api_version(
    azure_backend: AzureMLBackend, clean_fake_arm: FakeArmHandle
) -> None:
    ref = azure_backend.provision(make_spec())

    grant = azure_backend.grant_data_access(ref, make_grant())

    (put,) = clean_fake_arm.requests(method="PUT", path_contains="/roleAssignments/")
    assert grant.details["api_version"] == put["query"]["api-version"] == AUTHORIZATION_API_VERSION
