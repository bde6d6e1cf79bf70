"""The workspace lifecycle end to end: the web side's services, a real Celery worker over Redis,
PostgreSQL, and the cloud stand-ins (moto for AWS, the fake ARM for Azure) over real HTTP."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import close_old_connections, connection

from audit.models import AuditEvent
from tests.factories import TemplateVersionFactory, UserFactory, azureml_spec
from tests.fixtures.celery_worker import wait_for
from workspaces import services, tasks
from workspaces.backends import get_backend
from workspaces.models import RoleQuota, Workspace

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


def test_sagemaker_workspace_runs_hardened_then_stops_starts_and_is_deleted(
    stand_ins_worker, aws_stand_in, moto_network, aws_template, owner
):
    sm, iam = aws_stand_in.sagemaker, aws_stand_in.iam
    ws = ask(owner, aws_template, "ml.t3.medium", volume_size_gb=15)
    ws = wait_state(ws, "running", stand_ins_worker)

    nb = sm.describe_notebook_instance(NotebookInstanceName=ws.resource_name)
    assert nb["NotebookInstanceStatus"] == "InService"
    assert nb["DirectInternetAccess"] == "Disabled"
    assert nb["RootAccess"] == "Disabled"
    assert nb["KmsKeyId"] == moto_network.kms_key_arn
    assert nb["SubnetId"] == moto_network.subnet_id
    assert nb["SecurityGroups"] == [moto_network.security_group_id]
    assert nb["VolumeSizeInGB"] == 15
    assert nb["NotebookInstanceLifecycleConfigName"]
    sm.describe_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName=nb["NotebookInstanceLifecycleConfigName"]
    )
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=nb["NotebookInstanceArn"])["Tags"]}
    assert tags["enclave:managed"] == "true"
    assert tags["enclave:workspace-id"] == str(ws.pk)
    assert tags["owner"] == "ivy.integration"
    assert tags["template"] == "sm-secure"
    assert tags["template-version"] == str(ws.template_version.number)
    assert tags["cost-centre"] == "CC-7788"
    assert tags["data-classification"] == "confidential"
    role_name = nb["RoleArn"].rsplit("/", 1)[-1]
    assert iam.get_role(RoleName=role_name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == (
        moto_network.permissions_boundary_arn
    )
    # The page shows the hardening read back from the cloud, not the template.
    assert ws.applied_hardening["direct_internet_access"] == "Disabled"
    assert ws.applied_hardening["kms_key_id"] == moto_network.kms_key_arn

    services.stop_workspace(owner, ws)
    ws = wait_state(ws, "stopped", stand_ins_worker)
    assert sm.describe_notebook_instance(NotebookInstanceName=ws.resource_name)["NotebookInstanceStatus"] == "Stopped"

    services.start_workspace(owner, ws)
    ws = wait_state(ws, "running", stand_ins_worker)
    assert sm.describe_notebook_instance(NotebookInstanceName=ws.resource_name)["NotebookInstanceStatus"] == "InService"

    services.delete_workspace(owner, ws)
    wait_state(ws, "deleted", stand_ins_worker, timeout=120)
    names = [n["NotebookInstanceName"] for n in sm.list_notebook_instances()["NotebookInstances"]]
    assert ws.resource_name not in names
    assert role_name not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    actions = list(AuditEvent.objects.filter(target_id=str(ws.pk)).order_by("seq").values_list("action", flat=True))
    assert actions == [
        "workspace.requested", "workspace.provisioning", "workspace.running",
        "workspace.stop_requested", "workspace.stopped", "workspace.start_requested", "workspace.running",
        "workspace.delete_requested", "workspace.deleted",
    ]  # fmt: skip


def test_provisioning_task_delivered_twice_leaves_exactly_one_notebook(
    stand_ins_worker, aws_stand_in, aws_template, owner
):
    ws = ask(owner, aws_template, "ml.t3.medium")
    # A duplicate delivery of the same task (e.g. after a worker crash with late acks).
    tasks.provision_workspace.apply_async(args=[str(ws.pk)])
    tasks.provision_workspace.apply_async(args=[str(ws.pk)])
    wait_state(ws, "running", stand_ins_worker)
    names = [n["NotebookInstanceName"] for n in aws_stand_in.sagemaker.list_notebook_instances()["NotebookInstances"]]
    assert names == [ws.resource_name]


def test_provisioning_rerun_after_the_create_call_adopts_the_instance(
    stand_ins_worker, aws_stand_in, aws_template, owner
):
    ws = ask(owner, aws_template, "ml.t3.medium")
    ws = wait_state(ws, "running", stand_ins_worker)
    # Simulate a worker that died after CreateNotebookInstance but before recording it.
    Workspace.objects.filter(pk=ws.pk).update(state="provisioning", cloud_ref={})
    tasks.provision_workspace.apply_async(args=[str(ws.pk)])
    wait_for(lambda: Workspace.objects.get(pk=ws.pk).cloud_ref, timeout=60, what="the adopted cloud ref")
    wait_state(ws, "running", stand_ins_worker)
    instances = aws_stand_in.sagemaker.list_notebook_instances()["NotebookInstances"]
    assert len(instances) == 1


def test_resource_limit_exceeded_fails_readably_and_a_retry_succeeds(
    stand_ins_worker, aws_stand_in, aws_template, owner
):
    aws_stand_in.inject_fault(
        "CreateNotebookInstance",
        "ResourceLimitExceeded",
        "The account-level service limit 'ml.t3.medium for notebook instance usage' is 0 Instances.",
    )
    ws = ask(owner, aws_template, "ml.t3.medium")
    ws = wait_state(ws, "failed", stand_ins_worker)
    assert "service limit" in ws.last_error
    assert ws.last_error_code
    assert AuditEvent.objects.filter(action="workspace.failed", target_id=str(ws.pk), outcome="error").exists()

    services.retry_workspace(owner, ws)
    ws = wait_state(ws, "running", stand_ins_worker)
    assert ws.last_error == ""
    assert len(aws_stand_in.sagemaker.list_notebook_instances()["NotebookInstances"]) == 1


def test_azure_workspace_runs_hardened_then_stops_starts_and_is_deleted(
    stand_ins_worker, clean_fake_arm, azure_template, owner
):
    ws = ask(owner, azure_template, "Standard_DS3_v2")
    ws = wait_state(ws, "running", stand_ins_worker)

    puts = clean_fake_arm.requests(method="PUT", path_contains="/computes/")
    assert len(puts) == 1
    body = puts[0]["body"]
    props = body["properties"]["properties"]
    assert props["enableNodePublicIp"] is False
    assert props["sshSettings"]["sshPublicAccess"] == "Disabled"
    assert props["subnet"]["id"] == azure_template.versions.get().spec["subnet_id"]
    assert props["idleTimeBeforeShutdown"] == "PT30M"
    assert props["personalComputeInstanceSettings"]["assignedUser"]["objectId"] == owner.entra_object_id
    assert body["tags"]["enclave:workspace-id"] == str(ws.pk)
    assert body["tags"]["owner"] == "ivy.integration"
    assert body["tags"]["data-classification"] == "confidential"
    assert body["tags"]["enclave:managed"] == "true"

    services.stop_workspace(owner, ws)
    ws = wait_state(ws, "stopped", stand_ins_worker)
    assert clean_fake_arm.requests(method="POST", path_contains="/stop")
    services.start_workspace(owner, ws)
    ws = wait_state(ws, "running", stand_ins_worker)
    assert clean_fake_arm.requests(method="POST", path_contains="/start")
    services.delete_workspace(owner, ws)
    wait_state(ws, "deleted", stand_ins_worker, timeout=120)
    assert clean_fake_arm.requests(method="DELETE", path_contains="/computes/")


@pytest.mark.parametrize("provider", ["aws", "azure"])
def test_someone_elses_workspace_cannot_be_opened_or_stopped(
    provider, stand_ins_worker, request, other_scientist, owner
):
    template = request.getfixturevalue("aws_template" if provider == "aws" else "azure_template")
    request_ws = services.request_workspace(
        owner, template.slug, "shared-behaviour", "ml.t3.medium" if provider == "aws" else "Standard_DS3_v2",
        None, "internal",
    )  # fmt: skip
    ws = wait_state(request_ws, "running", stand_ins_worker)
    from workspaces.exceptions import WorkspaceNotFound

    for attempt in (services.open_workspace, services.stop_workspace, services.delete_workspace):
        with pytest.raises(WorkspaceNotFound):
            attempt(other_scientist, ws)
    assert state_of(ws) == "running"
    assert AuditEvent.objects.filter(action="access.denied", actor=other_scientist, target_id=str(ws.pk)).count() == 3
    assert ws.resource_name in services.open_workspace(owner, ws)


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
