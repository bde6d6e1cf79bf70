"""The workspace lifecycle end to end: the web side's services, a real Celery worker over Redis,
PostgreSQL, and the cloud stand-ins (moto for AWS, the fake ARM for Azure) over real HTTP.

Behaviour both providers share is written once and runs for each (the ``cloud`` fixture is
parametrised over AWS and Azure); what only one provider has (the shape of Azure's create
request, throttling with ``Retry-After``) has its own test.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from django.db import close_old_connections, connection

from audit.models import AuditEvent
from catalog.models import RoleQuota
from tests.factories import TemplateVersionFactory, UserFactory, azureml_spec
from tests.fixtures.celery_worker import wait_for
from workspaces import services, tasks
from workspaces.backends import get_backend
from workspaces.backends.azureml import API_VERSION, RETRY_TOTAL
from workspaces.models import Workspace

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

FAKE_ARM_SUBSCRIPTION = "5f1c2a3b-0000-4000-8000-000000000001"


def _worker_env(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


@pytest.fixture
def stand_ins_worker(aws_stand_in: Any, fake_arm: Any, celery_worker: Any) -> Any:
    """The session's worker, checked to talk to this session's stand-ins.

    The stand-in fixtures export their endpoints to ``os.environ``; a worker started before
    them would talk to the real clouds' defaults, so say so plainly instead of timing out.
    """
    env = _worker_env(celery_worker.proc.pid) if os.path.exists(f"/proc/{celery_worker.proc.pid}") else {}
    if env and env.get("ENCLAVE_AWS_ENDPOINT_URL") != aws_stand_in.url:
        pytest.fail("the Celery worker started before the AWS stand-in: request aws_stand_in before celery_worker")
    if env and env.get("ENCLAVE_AZURE_ARM_ENDPOINT") != fake_arm.url:
        pytest.fail("the Celery worker started before the fake ARM: request fake_arm before celery_worker")
    get_backend.cache_clear()
    yield celery_worker
    get_backend.cache_clear()


def state_of(ws: Workspace) -> str:
    return str(Workspace.objects.values_list("state", flat=True).get(pk=ws.pk))


def wait_state(ws: Workspace, wanted: str, worker: Any, timeout: float = 90) -> Workspace:
    def reached() -> bool:
        current = state_of(ws)
        if current == "failed" and wanted != "failed":
            failed = Workspace.objects.get(pk=ws.pk)
            pytest.fail(f"workspace failed: {failed.last_error_code}: {failed.last_error}\n{worker.log()[-3000:]}")
        return current == wanted

    wait_for(reached, timeout=timeout, interval=0.3, what=f"workspace {ws.name} to be {wanted}")
    return Workspace.objects.get(pk=ws.pk)


@pytest.fixture
def aws_template(transactional_db: Any, sagemaker_hardening: dict[str, Any]) -> Any:
    return TemplateVersionFactory(
        template__slug="sm-secure", template__provider="aws_sagemaker", spec=sagemaker_hardening
    ).template


@pytest.fixture
def azure_template(transactional_db: Any, clean_fake_arm: Any) -> Any:
    subnet = (
        f"/subscriptions/{FAKE_ARM_SUBSCRIPTION}/resourceGroups/rg-network/providers/Microsoft.Network"
        "/virtualNetworks/vnet-ml/subnets/snet-compute"
    )
    spec = azureml_spec(subscription_id=FAKE_ARM_SUBSCRIPTION, subnet_id=subnet, idle_shutdown_minutes=30)
    return TemplateVersionFactory(template__slug="aml-secure", template__provider="azure_ml", spec=spec).template


@pytest.fixture
def owner(transactional_db: Any) -> Any:
    return UserFactory(username="ivy.integration", roles=["data_scientist"], cost_centre="CC-7788")


def ask(owner: Any, template: Any, size: str, **extra: Any) -> Workspace:
    return services.request_workspace(
        owner,
        template.slug,
        extra.pop("name", "integration"),
        size,
        extra.pop("volume_size_gb", None),
        "confidential",
    )


@dataclass
class Cloud:
    """One provider's stand-in as the shared tests see it: the template to request, the size to
    ask for, and how to look at (and break) the cloud behind it."""

    name: str
    template: Any
    size: str
    instances: Callable[[], list[str]]  # names of the workspaces that exist in the cloud
    status: Callable[[Workspace], str]  # the provider's own word for one workspace: InService, Running...
    running_word: str
    stopped_word: str
    inject_quota_error: Callable[[], str]  # returns words the workspace's error message must contain
    assert_hardened: Callable[[Workspace, Any], None]
    assert_cleaned_up: Callable[[Workspace], None]  # what deletion must leave behind (nothing)


def _aws_cloud(request: pytest.FixtureRequest) -> Cloud:
    stand_in = request.getfixturevalue("clean_aws")
    network = request.getfixturevalue("moto_network")
    template = request.getfixturevalue("aws_template")
    sm, iam = stand_in.sagemaker, stand_in.iam

    def instances() -> list[str]:
        return [n["NotebookInstanceName"] for n in sm.list_notebook_instances()["NotebookInstances"]]

    def status(ws: Workspace) -> str:
        return str(sm.describe_notebook_instance(NotebookInstanceName=ws.resource_name)["NotebookInstanceStatus"])

    def inject_quota_error() -> str:
        stand_in.inject_fault(
            "CreateNotebookInstance",
            "ResourceLimitExceeded",
            "The account-level service limit 'ml.t3.medium for notebook instance usage' is 0 Instances.",
        )
        return "service limit"

    def assert_hardened(ws: Workspace, owner: Any) -> None:
        nb = sm.describe_notebook_instance(NotebookInstanceName=ws.resource_name)
        assert nb["DirectInternetAccess"] == "Disabled"
        assert nb["RootAccess"] == "Disabled"
        assert nb["KmsKeyId"] == network.kms_key_arn
        assert nb["SubnetId"] == network.subnet_id
        assert nb["SecurityGroups"] == [network.security_group_id]
        assert nb["VolumeSizeInGB"] == 15
        assert nb["NotebookInstanceLifecycleConfigName"]
        sm.describe_notebook_instance_lifecycle_config(
            NotebookInstanceLifecycleConfigName=nb["NotebookInstanceLifecycleConfigName"]
        )
        tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=nb["NotebookInstanceArn"])["Tags"]}
        assert tags["enclave:managed"] == "true"
        assert tags["enclave:workspace-id"] == str(ws.pk)
        assert tags["owner"] == owner.username
        assert tags["template"] == "sm-secure"
        assert tags["template-version"] == str(ws.template_version.number)
        assert tags["cost-centre"] == "CC-7788"
        assert tags["data-classification"] == "confidential"
        role_name = nb["RoleArn"].rsplit("/", 1)[-1]
        assert iam.get_role(RoleName=role_name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == (
            network.permissions_boundary_arn
        )
        # The page shows the hardening read back from the cloud, not the template.
        assert ws.applied_hardening["direct_internet_access"] == "Disabled"
        assert ws.applied_hardening["kms_key_id"] == network.kms_key_arn

    def assert_cleaned_up(ws: Workspace) -> None:
        assert ws.resource_name not in instances()
        assert ws.cloud_ref["extra"]["role_name"] not in [r["RoleName"] for r in iam.list_roles()["Roles"]]

    return Cloud("aws", template, "ml.t3.medium", instances, status, "InService", "Stopped",
                 inject_quota_error, assert_hardened, assert_cleaned_up)  # fmt: skip


def _azure_cloud(request: pytest.FixtureRequest) -> Cloud:
    fake = request.getfixturevalue("clean_fake_arm")
    template = request.getfixturevalue("azure_template")

    def computes() -> dict[str, dict[str, Any]]:
        with fake.state.lock:
            return {c.resource["name"]: c.resource for c in fake.state.computes.values()}

    def instances() -> list[str]:
        return sorted(computes())

    def status(ws: Workspace) -> str:
        return str(computes()[ws.resource_name]["properties"]["properties"]["state"])

    def inject_quota_error() -> str:
        fake.inject_fault(
            method="PUT",
            path_contains="/computes/",
            status=400,
            code="QuotaExceeded",
            message="Operation results in exceeding quota limits of Core. Maximum allowed: 24, Current in use: 24, "
            "Additional requested: 4.",
        )
        return "exceeding quota limits of Core"

    def assert_hardened(ws: Workspace, owner: Any) -> None:
        puts = [p for p in fake.requests(method="PUT", path_contains="/computes/") if p["status"] == 201]
        assert len(puts) == 1
        body = puts[0]["body"]
        props = body["properties"]["properties"]
        assert props["enableNodePublicIp"] is False
        assert props["sshSettings"]["sshPublicAccess"] == "Disabled"
        assert props["subnet"]["id"] == template.versions.get().spec["subnet_id"]
        assert props["idleTimeBeforeShutdown"] == "PT30M"
        assert props["personalComputeInstanceSettings"]["assignedUser"]["objectId"] == owner.entra_object_id
        assert body["identity"] == {"type": "SystemAssigned"}
        assert body["tags"]["enclave:managed"] == "true"
        assert body["tags"]["enclave:workspace-id"] == str(ws.pk)
        assert body["tags"]["owner"] == owner.username
        assert body["tags"]["template"] == "aml-secure"
        assert body["tags"]["template-version"] == str(ws.template_version.number)
        assert body["tags"]["cost-centre"] == "CC-7788"
        assert body["tags"]["data-classification"] == "confidential"
        # The page shows the hardening read back from the cloud, not the template.
        assert ws.applied_hardening["enable_node_public_ip"] is False
        assert ws.applied_hardening["ssh_public_access"] == "Disabled"
        assert ws.applied_hardening["assigned_user_object_id"] == owner.entra_object_id

    def assert_cleaned_up(ws: Workspace) -> None:
        assert ws.resource_name not in instances()
        assert fake.requests(method="DELETE", path_contains=f"/computes/{ws.resource_name}")

    return Cloud("azure", template, "Standard_DS3_v2", instances, status, "Running", "Stopped",
                 inject_quota_error, assert_hardened, assert_cleaned_up)  # fmt: skip


@pytest.fixture(params=["aws", "azure"])
def cloud(request: pytest.FixtureRequest) -> Cloud:
    """Each shared test runs once against moto (SageMaker) and once against the fake ARM (Azure ML)."""
    return _aws_cloud(request) if request.param == "aws" else _azure_cloud(request)


def test_workspace_runs_hardened_then_stops_starts_and_is_deleted(stand_ins_worker, cloud, owner):
    ws = ask(owner, cloud.template, cloud.size, volume_size_gb=15 if cloud.name == "aws" else None)
    ws = wait_state(ws, "running", stand_ins_worker)
    assert cloud.status(ws) == cloud.running_word
    cloud.assert_hardened(ws, owner)

    services.stop_workspace(owner, ws)
    ws = wait_state(ws, "stopped", stand_ins_worker)
    assert cloud.status(ws) == cloud.stopped_word

    services.start_workspace(owner, ws)
    ws = wait_state(ws, "running", stand_ins_worker)
    assert cloud.status(ws) == cloud.running_word

    services.delete_workspace(owner, ws)
    wait_state(ws, "deleted", stand_ins_worker, timeout=120)
    cloud.assert_cleaned_up(ws)
    actions = list(AuditEvent.objects.filter(target_id=str(ws.pk)).order_by("seq").values_list("action", flat=True))
    assert actions == [
        "workspace.requested", "workspace.provisioning", "workspace.running",
        "workspace.stop_requested", "workspace.stopped", "workspace.start_requested", "workspace.running",
        "workspace.delete_requested", "workspace.deleted",
    ]  # fmt: skip


def test_provisioning_task_delivered_twice_leaves_exactly_one_instance(stand_ins_worker, cloud, owner):
    ws = ask(owner, cloud.template, cloud.size)
    # A duplicate delivery of the same task (e.g. after a worker crash with late acks).
    tasks.provision_workspace.apply_async(args=[str(ws.pk)])
    tasks.provision_workspace.apply_async(args=[str(ws.pk)])
    wait_state(ws, "running", stand_ins_worker)
    assert cloud.instances() == [ws.resource_name]
    assert AuditEvent.objects.filter(action="workspace.running", target_id=str(ws.pk)).count() == 1


def test_provisioning_rerun_after_the_create_call_adopts_the_instance(stand_ins_worker, cloud, owner):
    ws = ask(owner, cloud.template, cloud.size)
    ws = wait_state(ws, "running", stand_ins_worker)
    # Simulate a worker that died after the create call but before recording it.
    Workspace.objects.filter(pk=ws.pk).update(state="provisioning", cloud_ref={})
    tasks.provision_workspace.apply_async(args=[str(ws.pk)])
    wait_for(lambda: Workspace.objects.get(pk=ws.pk).cloud_ref, timeout=60, what="the adopted cloud ref")
    wait_state(ws, "running", stand_ins_worker)
    assert cloud.instances() == [ws.resource_name]


def test_a_cloud_quota_refusal_fails_readably_and_a_retry_succeeds(stand_ins_worker, cloud, owner):
    words = cloud.inject_quota_error()
    ws = ask(owner, cloud.template, cloud.size)
    ws = wait_state(ws, "failed", stand_ins_worker)
    assert words in ws.last_error
    assert ws.last_error_code
    assert ws.failed_during == "provisioning"
    event = AuditEvent.objects.get(action="workspace.failed", target_id=str(ws.pk))
    assert (event.outcome, event.details["message"]) == ("error", ws.last_error)
    assert cloud.instances() == []

    services.retry_workspace(owner, ws)
    ws = wait_state(ws, "running", stand_ins_worker)
    assert ws.last_error == ""
    assert cloud.instances() == [ws.resource_name]


def test_someone_elses_workspace_cannot_be_opened_or_stopped(stand_ins_worker, cloud, other_scientist, owner):
    from workspaces.exceptions import WorkspaceNotFound

    ws = services.request_workspace(owner, cloud.template.slug, "shared-behaviour", cloud.size, None, "internal")
    ws = wait_state(ws, "running", stand_ins_worker)

    for attempt in (services.open_workspace, services.stop_workspace, services.delete_workspace):
        with pytest.raises(WorkspaceNotFound):
            attempt(other_scientist, ws)
    assert state_of(ws) == "running"
    assert AuditEvent.objects.filter(action="access.denied", actor=other_scientist, target_id=str(ws.pk)).count() == 3
    assert ws.resource_name in services.open_workspace(owner, ws)


# --- Azure only --------------------------------------------------------------------------


def test_azure_quota_error_is_audited_with_azures_code(stand_ins_worker, clean_fake_arm, azure_template, owner):
    clean_fake_arm.inject_fault(
        method="PUT", path_contains="/computes/", status=409, code="OperationNotAllowed",
        message="The requested VM size would exceed the regional vCPU quota for this family.",
    )  # fmt: skip
    ws = wait_state(ask(owner, azure_template, "Standard_DS3_v2"), "failed", stand_ins_worker)
    assert ws.last_error == (
        "Azure refused to create the compute instance: The requested VM size would exceed the regional vCPU quota "
        "for this family. (OperationNotAllowed)"
    )
    assert ws.last_error_code == "OperationNotAllowed"


def test_a_throttled_azure_create_is_retried_after_retry_after_and_the_workspace_runs(
    stand_ins_worker, clean_fake_arm, azure_template, owner
):
    # More 429s than the SDK retries inline: the SDK retries twice, each after Retry-After, then the
    # task gives up the worker and Celery re-runs it after Retry-After; the third attempt succeeds.
    retry_after = 2.0
    clean_fake_arm.inject_fault(
        method="PUT", path_contains="/computes/", status=429, code="TooManyRequests",
        message="Too many requests for subscription writes.", retry_after=retry_after, count=RETRY_TOTAL + 1,
    )  # fmt: skip
    ws = wait_state(ask(owner, azure_template, "Standard_DS3_v2"), "running", stand_ins_worker)

    puts = clean_fake_arm.requests(method="PUT", path_contains="/computes/")
    assert [p["status"] for p in puts] == [429] * (RETRY_TOTAL + 1) + [201]
    gaps = [later["time"] - earlier["time"] for earlier, later in pairwise(puts)]
    assert all(gap >= retry_after for gap in gaps), gaps
    assert puts[-1]["body"] == puts[0]["body"]
    assert f"workspace {ws.pk}: provisioning failed (throttled), retrying" in stand_ins_worker.log()
    assert clean_fake_arm.requests(method="GET", path_contains=f"/computes/{ws.resource_name}")
    assert AuditEvent.objects.filter(action="workspace.running", target_id=str(ws.pk)).count() == 1
    assert not AuditEvent.objects.filter(action="workspace.failed", target_id=str(ws.pk)).exists()


def test_azure_idle_shutdown_is_confirmed_by_reading_the_compute_back(
    stand_ins_worker, clean_fake_arm, azure_template, owner
):
    ws = wait_state(ask(owner, azure_template, "Standard_DS3_v2"), "running", stand_ins_worker)

    (put,) = [p for p in clean_fake_arm.requests(method="PUT", path_contains="/computes/") if p["status"] == 201]
    reads = clean_fake_arm.requests(method="GET", path_contains=f"/computes/{ws.resource_name}")
    assert [r for r in reads if r["seq"] > put["seq"] and r["status"] == 200]
    assert ws.applied_hardening["idle_time_before_shutdown"] == "PT30M"
    assert ws.applied_hardening["idle_shutdown_confirmed"] is True
    event = AuditEvent.objects.get(action="workspace.running", target_id=str(ws.pk))
    assert event.details["hardening"]["idle_shutdown_confirmed"] is True
    assert event.details["hardening"]["api_version"] == API_VERSION == put["query"]["api-version"]


def test_an_azure_compute_whose_idle_shutdown_is_not_read_back_never_counts_as_running(
    stand_ins_worker, clean_fake_arm, azure_template, owner
):
    clean_fake_arm.drop_instance_property("idleTimeBeforeShutdown")

    ws = wait_state(ask(owner, azure_template, "Standard_DS3_v2"), "failed", stand_ins_worker)

    assert "does not confirm the idle shutdown" in ws.last_error
    assert "asked for PT30M, Azure reports none" in ws.last_error
    assert not AuditEvent.objects.filter(action="workspace.running", target_id=str(ws.pk)).exists()


def test_an_azure_compute_deleted_out_of_band_is_answered_204_and_the_workspace_ends_deleted(
    stand_ins_worker, clean_fake_arm, azure_template, owner
):
    ws = wait_state(ask(owner, azure_template, "Standard_DS3_v2"), "running", stand_ins_worker)
    clean_fake_arm.vanish_before_next_delete(ws.resource_name)

    services.delete_workspace(owner, ws)
    wait_state(ws, "deleted", stand_ins_worker)

    (delete,) = clean_fake_arm.requests(method="DELETE", path_contains=f"/computes/{ws.resource_name}")
    assert delete["status"] == 204
    assert delete["query"]["api-version"] == API_VERSION
    assert AuditEvent.objects.filter(action="workspace.deleted", target_id=str(ws.pk)).count() == 1
    assert not AuditEvent.objects.filter(action="workspace.failed", target_id=str(ws.pk)).exists()


def test_ten_concurrent_requests_respect_the_quota(transactional_db, require_postgres, monkeypatch, aws_template):
    """Quota holds under a race: ten requests at once, each in its own thread and connection."""
    monkeypatch.setattr(services, "send_task", lambda *a, **k: None)  # only the race matters here
    RoleQuota.objects.create(role="data_scientist", max_running=3, max_total=3)
    aws_template.max_workspaces_per_user = 10
    aws_template.save()
    racer: Any = UserFactory(username="rita.racer", roles=["data_scientist"])
    barrier = threading.Barrier(10)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            services.request_workspace(racer, aws_template.slug, f"race {i}", "ml.t3.medium", None, "internal")
            result = "ok"
        except Exception as exc:
            result = type(exc).__name__
        finally:
            close_old_connections()
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["QuotaExceeded"] * 7 + ["ok"] * 3
    assert Workspace.objects.filter(owner=racer).count() == 3
    assert AuditEvent.objects.filter(action="workspace.request_refused", actor=racer).count() == 7
