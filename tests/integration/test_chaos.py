"""Fault injection: SIGKILL the worker at a random moment in every phase of a workspace's and a
grant's life, restart it, and prove the work still ends in the right cloud state.

One trial takes one SageMaker workspace (the AWS stand-in) through provision → stop → start →
grant apply → grant removal → delete; in each phase the worker process and its pool are killed
with SIGKILL a random 0–2 s after the intent was committed, and a fresh worker is started. Nothing
else touches the items: the tasks the dead worker held stay unacknowledged in Redis (for the
hour-long visibility timeout), so only the sweeper — run here every 2 s with a 4 s grace, as beat
would with shortened settings — can bring them home. Each phase must reach its terminal state
within 3 minutes with exactly the cloud resources it should have: one notebook instance while the
workspace lives, none and no role or lifecycle configuration after deletion, the grant's policy
on the role only while it is applied; and the audit trail must verify.

CI runs one trial (six kills). ``make chaos`` runs ``CHAOS_TRIALS`` (50) and prints a table:
phase, kill moment, recovered after, resources found.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.conf import settings

from approvals import services as approvals
from approvals.models import Grant
from audit.verification import verify_chain
from tests.factories import DatasetFactory, TemplateVersionFactory, UserFactory
from tests.fixtures.celery_worker import WorkerHandle, start_worker, stop_worker
from tests.integration.durable_helpers import PrivateRedis, point_celery_at, sigkill_tree
from workspaces import services, sweeper
from workspaces.backends import get_backend
from workspaces.models import Workspace

TRIALS = int(os.environ.get("CHAOS_TRIALS", "1"))
RECOVERY_LIMIT = 180.0
SWEEP_EVERY = 2.0
GRACE = 4
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300 + 400 * TRIALS)]


@dataclass
class Row:
    trial: int
    phase: str
    kill_after: float
    recovered_after: float
    resources: str


@dataclass
class Chaos:
    """The worker the test kills and restarts, on a private broker nobody else consumes."""

    tmp: Path
    broker: PrivateRedis
    aws: Any
    worker: WorkerHandle | None = None
    rows: list[Row] = field(default_factory=list)

    def start(self) -> None:
        env = {"REDIS_URL": self.broker.url, "ENCLAVE_SWEEP_GRACE_SECONDS": str(GRACE)}
        self.worker = start_worker(self.tmp, concurrency=2, extra_env=env)

    def kill(self) -> None:
        assert self.worker is not None
        sigkill_tree(self.worker.proc.pid)
        self.worker.proc.wait(timeout=10)

    def log(self) -> str:
        return self.worker.log()[-3000:] if self.worker else ""

    # --- what the cloud holds -------------------------------------------------------------
    def instances(self, ws: Workspace) -> int:
        listed = self.aws.sagemaker.list_notebook_instances(NameContains=ws.resource_name)["NotebookInstances"]
        return sum(1 for n in listed if n["NotebookInstanceName"] == ws.resource_name)

    def role_exists(self, ws: Workspace) -> bool:
        return ws.resource_name + "-role" in [r["RoleName"] for r in self.aws.iam.list_roles()["Roles"]]

    def lifecycle_configs(self, ws: Workspace) -> int:
        try:
            self.aws.sagemaker.describe_notebook_instance_lifecycle_config(
                NotebookInstanceLifecycleConfigName=ws.resource_name + "-lc"
            )
        except ClientError:
            return 0
        return 1

    def role_policies(self, ws: Workspace) -> list[str]:
        if not self.role_exists(ws):
            return []
        names = self.aws.iam.list_role_policies(RoleName=ws.resource_name + "-role")["PolicyNames"]
        return [name for name in names if name.startswith("enclave-grant-")]

    def resources(self, ws: Workspace) -> str:
        return (
            f"instances={self.instances(ws)} role={'yes' if self.role_exists(ws) else 'no'} "
            f"lifecycle={self.lifecycle_configs(ws)} grant_policies={len(self.role_policies(ws))}"
        )

    # --- one phase: act, kill at a random moment, restart, let the sweeper heal -------------
    def phase(self, trial: int, name: str, act: Callable[[], object], done: Callable[[], bool], ws: Workspace) -> None:
        act()
        kill_after = random.uniform(0.0, 2.0)
        time.sleep(kill_after)
        self.kill()
        killed_at = time.monotonic()
        self.start()
        next_sweep = 0.0
        while not done():
            elapsed = time.monotonic() - killed_at
            if elapsed > RECOVERY_LIMIT:
                pytest.fail(f"trial {trial}: {name} did not recover within {RECOVERY_LIMIT:.0f} s\n{self.log()}")
            current = Workspace.objects.get(pk=ws.pk)
            if current.state == "failed":
                pytest.fail(f"trial {trial}: {name}: workspace failed: {current.last_error}\n{self.log()}")
            if time.monotonic() >= next_sweep:
                sweeper.sweep_all()  # beat, with the interval shortened for the test
                next_sweep = time.monotonic() + SWEEP_EVERY
            time.sleep(0.25)
        self.rows.append(Row(trial, name, kill_after, time.monotonic() - killed_at, self.resources(ws)))


@pytest.fixture
def chaos(
    tmp_path: Path, require_redis: str, aws_stand_in: Any, clean_aws: Any, transactional_db: Any, settings: Any
) -> Iterator[Chaos]:
    settings.ENCLAVE_SWEEP_GRACE_SECONDS = GRACE
    broker = PrivateRedis(tmp_path)
    broker.start()
    point_celery_at(broker.url)
    get_backend.cache_clear()
    harness = Chaos(tmp_path, broker, clean_aws)
    harness.start()
    try:
        yield harness
    finally:
        if harness.worker is not None:
            stop_worker(harness.worker)
        point_celery_at(django_broker_url())
        broker.stop()
        get_backend.cache_clear()
        print_table(harness.rows)


def django_broker_url() -> str:
    return str(settings.CELERY_BROKER_URL)


def print_table(rows: list[Row]) -> None:
    if not rows:
        return
    lines = [
        "",
        f"{'trial':>5}  {'phase':<14} {'kill after':>10} {'recovered after':>15}  resources found",
        *(
            f"{r.trial:>5}  {r.phase:<14} {r.kill_after:>9.2f}s {r.recovered_after:>14.1f}s  {r.resources}"
            for r in rows
        ),
        f"{len(rows)} phases, slowest recovery {max(r.recovered_after for r in rows):.1f} s",
    ]
    print("\n".join(lines))  # the report `make chaos` shows


def state(ws: Workspace) -> str:
    return str(Workspace.objects.values_list("state", flat=True).get(pk=ws.pk))


def grant_status(req: Any) -> str:
    return str(Grant.objects.filter(request=req).values_list("status", flat=True).first() or "")


def run_trial(chaos: Chaos, trial: int, template: Any, owner: Any, approver: Any, dataset: Any) -> None:
    """One workspace and one grant through every phase, with a kill in each."""
    ws = services.request_workspace(owner, template.slug, f"chaos {trial}", "ml.t3.medium", None, "confidential")
    chaos.phase(trial, "provision", lambda: None, lambda: state(ws) == "running", ws)
    assert chaos.instances(ws) == 1

    chaos.phase(trial, "stop", lambda: services.stop_workspace(owner, ws), lambda: state(ws) == "stopped", ws)
    chaos.phase(trial, "start", lambda: services.start_workspace(owner, ws), lambda: state(ws) == "running", ws)
    assert chaos.instances(ws) == 1

    req = approvals.request_access(owner, dataset, Workspace.objects.get(pk=ws.pk), "Chaos trial access.", 2)
    chaos.phase(
        trial, "grant apply", lambda: approvals.approve_request(approver, req, "ok"),
        lambda: grant_status(req) == "applied", ws,
    )  # fmt: skip
    grant = Grant.objects.get(request=req)
    assert chaos.role_policies(ws) == [f"enclave-grant-{grant.pk}"]

    chaos.phase(
        trial, "grant removal", lambda: approvals.withdraw_request(owner, req),
        lambda: grant_status(req) == "removed", ws,
    )  # fmt: skip
    assert chaos.role_policies(ws) == []

    chaos.phase(trial, "delete", lambda: services.delete_workspace(owner, ws), lambda: state(ws) == "deleted", ws)
    assert chaos.instances(ws) == 0
    assert not chaos.role_exists(ws)
    assert chaos.lifecycle_configs(ws) == 0


def test_killing_the_worker_at_random_moments_never_loses_work(chaos, moto_network, sagemaker_hardening):
    template = TemplateVersionFactory(
        template__slug="sm-chaos", template__provider="aws_sagemaker", spec=sagemaker_hardening
    ).template
    owner = UserFactory(username="cat.chaos", roles=["data_scientist"], cost_centre="CC-9")
    approver = UserFactory(username="abe.approver", roles=["approver"])
    dataset = DatasetFactory(slug="cards-chaos", classification="confidential", location="s3://enclave-data/cards/")

    for trial in range(1, TRIALS + 1):
        run_trial(chaos, trial, template, owner, approver, dataset)

    result = verify_chain()
    assert result.broken is None, str(result.broken)
    assert not Workspace.objects.exclude(next_due_at=None).exists()
    assert not Grant.objects.exclude(next_due_at=None).exists()
    assert len(chaos.rows) == 6 * TRIALS  # the table is printed at teardown
