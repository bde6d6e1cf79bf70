"""An in-memory ``WorkspaceBackend`` for unit tests of the lifecycle: no network, no threads.

Instances settle after ``settle_after`` describe calls, so tests can watch a workspace
pass through pending states; ``fail_next`` injects a ``CloudError`` into the next call
of one method. The fixtures here are registered for ``tests/workspaces`` by its conftest;
``actions_for`` and ``make_workspace`` are helpers the test modules import.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from workspaces.backends.base import (
    CloudError,
    CloudRef,
    CloudState,
    CloudStatus,
    DataGrantSpec,
    GrantRef,
    Provider,
    WorkspaceSpec,
)

TRANSIENT = {CloudState.PENDING: CloudState.RUNNING, CloudState.STARTING: CloudState.RUNNING,
             CloudState.STOPPING: CloudState.STOPPED, CloudState.DELETING: CloudState.DELETED}  # fmt: skip


@dataclass
class FakeInstance:
    spec: WorkspaceSpec
    state: CloudState = CloudState.PENDING
    describes_in_state: int = 0
    message: str = ""


@dataclass
class FakeBackend:
    provider: Provider = Provider.AWS_SAGEMAKER
    settle_after: int = 1
    instances: dict[str, FakeInstance] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    faults: dict[str, list[CloudError]] = field(default_factory=lambda: defaultdict(list))
    create_calls: int = 0

    def fail_next(self, method: str, error: CloudError, times: int = 1) -> None:
        self.faults[method].extend([error] * times)

    def _call(self, method: str, name: str) -> None:
        self.calls.append((method, name))
        if self.faults[method]:
            raise self.faults[method].pop(0)

    def _ref(self, name: str) -> CloudRef:
        return CloudRef(provider=self.provider, resource_name=name, resource_id=f"fake:{name}", extra={"role": "r"})

    def _status(self, name: str) -> CloudStatus:
        inst = self.instances.get(name)
        if inst is None:
            return CloudStatus(ref=self._ref(name), state=CloudState.DELETED, raw_status="NotFound")
        hardening = {
            "DirectInternetAccess": "Disabled",
            "RootAccess": "Disabled",
            "SubnetId": inst.spec.hardening.get("subnet_id"),
        }
        return CloudStatus(ref=self._ref(name), state=inst.state, raw_status=inst.state.value.title(),
                           message=inst.message, hardening=hardening, tags=dict(inst.spec.tags))  # fmt: skip

    def provision(self, spec: WorkspaceSpec) -> CloudRef:
        self._call("provision", spec.resource_name)
        if spec.resource_name not in self.instances:
            self.create_calls += 1
            self.instances[spec.resource_name] = FakeInstance(spec)
        return self._ref(spec.resource_name)

    def describe(self, ref: CloudRef) -> CloudStatus:
        self._call("describe", ref.resource_name)
        inst = self.instances.get(ref.resource_name)
        if inst is not None and inst.state in TRANSIENT:
            inst.describes_in_state += 1
            if inst.describes_in_state > self.settle_after:
                inst.state, inst.describes_in_state = TRANSIENT[inst.state], 0
        return self._status(ref.resource_name)

    def start(self, ref: CloudRef) -> None:
        self._call("start", ref.resource_name)
        inst = self.instances[ref.resource_name]
        if inst.state == CloudState.STOPPED:
            inst.state = CloudState.STARTING

    def stop(self, ref: CloudRef) -> None:
        self._call("stop", ref.resource_name)
        inst = self.instances[ref.resource_name]
        if inst.state == CloudState.RUNNING:
            inst.state = CloudState.STOPPING

    def delete(self, ref: CloudRef) -> CloudStatus:
        self._call("delete", ref.resource_name)
        inst = self.instances.get(ref.resource_name)
        if inst is None:
            return self._status(ref.resource_name)
        if inst.state == CloudState.DELETING:
            del self.instances[ref.resource_name]
            return self._status(ref.resource_name)
        inst.state = CloudState.DELETING
        return self._status(ref.resource_name)

    def open_url(self, ref: CloudRef, *, username: str, session_seconds: int) -> str:
        self._call("open_url", ref.resource_name)
        return f"https://notebooks.example/{ref.resource_name}?user={username}&ttl={session_seconds}"

    def grant_data_access(self, ref: CloudRef, grant: DataGrantSpec) -> GrantRef:  # pragma: no cover - not used here
        return GrantRef(provider=self.provider, grant_id=grant.grant_id)

    def revoke_data_access(self, ref: CloudRef, grant: GrantRef) -> None:  # pragma: no cover - not used here
        return None

    def inventory(self) -> Iterable[CloudStatus]:
        return [self._status(name) for name in list(self.instances)]

    # test helpers
    def add_unknown(self, name: str, **tags: Any) -> None:
        spec = WorkspaceSpec(workspace_id="", resource_name=name, owner_username="?", owner_cloud_id="",
                             template_slug="?", template_version=0, instance_type="ml.t3.medium", volume_size_gb=5,
                             data_classification="internal", cost_centre="?", hardening={},
                             tags={"enclave:managed": "true", **tags})  # fmt: skip
        self.instances[name] = FakeInstance(spec, state=CloudState.RUNNING)


# --- fixtures for lifecycle unit tests (import them into a test module to use them) ----------------
import pytest  # noqa: E402


@dataclass
class TaskQueue:
    """Tasks the services and tasks scheduled, run on demand in this process (eagerly)."""

    sent: list[tuple[str, str, float | None]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [name for name, _, _ in self.sent]

    def countdowns(self, name: str) -> list[float | None]:
        return [c for n, _, c in self.sent if n == name]

    retries: dict[tuple[str, str], int] = field(default_factory=dict)

    def run_next(self) -> str:
        """Run the oldest task; a ``self.retry`` puts it back first in line, as the broker would."""
        from celery.exceptions import Retry

        from workspaces import tasks

        name, workspace_id, _ = self.sent.pop(0)
        key = (name, workspace_id)
        try:
            getattr(tasks, name).apply(args=[workspace_id], throw=True, retries=self.retries.get(key, 0))
        except Retry as retry:
            self.retries[key] = self.retries.get(key, 0) + 1
            when = float(retry.when) if isinstance(retry.when, int | float) else None
            self.sent.insert(0, (name, workspace_id, when))
        else:
            self.retries.pop(key, None)
        return name

    def drain(self, limit: int = 60) -> list[str]:
        ran: list[str] = []
        while self.sent and len(ran) < limit:
            ran.append(self.run_next())
        assert not self.sent, f"tasks still queued after {limit} runs: {self.names()}"
        return ran


@pytest.fixture(name="fake_backend")
def fake_backend_fixture(monkeypatch: pytest.MonkeyPatch) -> FakeBackend:
    backend = FakeBackend()
    monkeypatch.setattr("workspaces.backends.get_backend", lambda provider: backend)
    return backend


@pytest.fixture(name="task_queue")
def task_queue_fixture(monkeypatch: pytest.MonkeyPatch) -> TaskQueue:
    queue = TaskQueue()

    def send(task_name: str, workspace_id: str, countdown: float | None = None) -> None:
        queue.sent.append((task_name, workspace_id, countdown))

    def enqueue(task_name: str, ws: Any, *, countdown: float | None = None) -> None:
        send(task_name, str(getattr(ws, "pk", ws)), countdown)

    monkeypatch.setattr("workspaces.services.send_task", send)
    monkeypatch.setattr("workspaces.services.enqueue", enqueue)
    return queue


@pytest.fixture(name="sm_template")
def sm_template_fixture(db: Any) -> Any:
    """A self-service SageMaker template with a published version."""
    from tests.factories import TemplateVersionFactory

    return TemplateVersionFactory(template__slug="sm-standard", template__name="SageMaker standard").template


@pytest.fixture(name="request_kwargs")
def request_kwargs_fixture(sm_template: Any) -> dict[str, Any]:
    return {
        "template_slug": sm_template.slug,
        "name": "churn model",
        "instance_type": "ml.t3.medium",
        "volume_size_gb": 20,
        "data_classification": "internal",
    }


def actions_for(ws: Any) -> list[str]:
    """The audit actions recorded against a workspace, oldest first: its lifecycle as an auditor reads it."""
    from audit.models import AuditEvent

    return list(
        AuditEvent.objects.filter(target_type="workspaces.workspace", target_id=str(ws.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def make_workspace(**fields: Any) -> Any:
    """``WorkspaceFactory`` with the model's type, for typed tests."""
    from tests.factories import WorkspaceFactory
    from workspaces.models import Workspace

    ws: Workspace = WorkspaceFactory(**fields)  # type: ignore[assignment]
    return ws
