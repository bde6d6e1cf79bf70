"""Fixtures for the approvals tests: a fake grant backend, a task queue run by hand, and a
ready world (a dataset, the scientist's running workspace, approvers).

MFA: approvers would be asked for a second factor by the MFA middleware; these unit tests turn
that requirement off (``ENCLAVE_MFA_REQUIRED_ROLES=[]``) because they test approval rules, not MFA.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.test import override_settings

from approvals import services, tasks
from tests.approvals.fakes import FakeGrantBackend
from tests.factories import DatasetFactory, UserFactory, WorkspaceFactory


def make_user(**fields: Any) -> Any:
    """Factories, typed loosely for the tests (factory_boy's classes are not the models to mypy)."""
    return UserFactory(**fields)


def make_dataset(**fields: Any) -> Any:
    return DatasetFactory(**fields)


def make_workspace(**fields: Any) -> Any:
    return WorkspaceFactory(**fields)


@pytest.fixture(autouse=True)
def _no_mfa_for_approvers() -> Iterator[None]:
    with override_settings(
        ENCLAVE_MFA_REQUIRED_ROLES=[], EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"
    ):
        yield


@dataclass
class TaskQueue:
    """Tasks the services scheduled, in order; ``run()`` executes them as the worker would."""

    items: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    retries: dict[int, int] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [name for name, _ in self.items]

    def run(self, *, only: str | None = None) -> int:
        """Run queued tasks (and the retries they ask for) until none is left; returns how many ran."""
        ran = 0
        while True:
            pending = [(i, item) for i, item in enumerate(self.items) if only is None or item[0] == only]
            if not pending:
                return ran
            index, item = pending[0]
            self.items.pop(index)
            name, args = item
            attempt = self.retries.pop(id(item), 0)
            values = [str(a) if not isinstance(a, int | float | bool | dict | type(None)) else a for a in args]
            try:
                getattr(tasks, name).apply(args=values, retries=attempt, throw=True)
            except Retry:
                again = (name, args)
                self.items.append(again)
                self.retries[id(again)] = attempt + 1
            ran += 1


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> TaskQueue:
    q = TaskQueue()
    monkeypatch.setattr(services.dispatch, "enqueue", lambda name, *args, countdown=None: q.items.append((name, args)))
    return q


@pytest.fixture
def fake_backend(monkeypatch: pytest.MonkeyPatch) -> FakeGrantBackend:
    backend = FakeGrantBackend()
    monkeypatch.setattr(tasks, "backend_for", lambda provider: backend)
    return backend


@pytest.fixture
def second_approver(db: Any) -> Any:
    return UserFactory(username="bea.approver", roles=["approver"])


@pytest.fixture
def workspace(scientist: Any) -> Any:
    return WorkspaceFactory(
        owner=scientist,
        state="running",
        data_classification="restricted",
        cloud_ref={"provider": "aws_sagemaker", "resource_name": "enclave-ws1", "resource_id": "arn:x", "extra": {}},
    )


@pytest.fixture
def dataset(db: Any) -> Any:
    return DatasetFactory(slug="cards", name="Card transactions", classification="confidential")


@pytest.fixture
def restricted_dataset(db: Any) -> Any:
    return DatasetFactory(slug="pii", name="Customer PII", classification="restricted")


@pytest.fixture
def pending(scientist: Any, workspace: Any, dataset: Any, queue: TaskQueue) -> Any:
    req = services.request_access(scientist, dataset, workspace, "Fraud model retraining for Q3.", 8)
    queue.items.clear()
    mail.outbox.clear()
    return req
