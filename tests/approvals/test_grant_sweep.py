"""Grants being applied or removed are durable: a lost apply or remove task is re-sent by the sweeper."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from approvals import services
from approvals.models import Grant, GrantStatus
from tests.approvals.conftest import TaskQueue
from tests.approvals.fakes import FakeGrantBackend
from workspaces import sweeper

pytestmark = pytest.mark.django_db


def overdue(grant: Grant) -> Any:
    assert grant.next_due_at is not None
    return grant.next_due_at + timedelta(seconds=1)


def test_an_approved_grant_whose_apply_task_was_lost_is_applied_after_the_next_sweep(
    pending: Any, approver: Any, queue: TaskQueue, fake_backend: FakeGrantBackend
) -> None:
    services.approve_request(approver, pending)
    queue.items[:] = [item for item in queue.items if item[0] != "apply_grant"]  # the message was lost
    grant = Grant.objects.get(request=pending)
    assert grant.status == GrantStatus.PENDING
    assert sweeper.sweep_all(timezone.now())["grants_resent"] == 0  # not yet overdue
    assert sweeper.sweep_all(overdue(grant))["grants_resent"] == 1
    queue.run()
    grant.refresh_from_db()
    assert grant.status == GrantStatus.APPLIED
    assert grant.next_due_at is None
    assert list(fake_backend.applied) == [str(grant.pk)]


def test_a_revoked_grant_whose_remove_task_was_lost_is_removed_after_the_next_sweep(
    pending: Any, approver: Any, scientist: Any, queue: TaskQueue, fake_backend: FakeGrantBackend
) -> None:
    services.approve_request(approver, pending)
    queue.run()
    services.withdraw_request(scientist, pending)
    queue.items[:] = [item for item in queue.items if item[0] != "remove_grant"]
    grant = Grant.objects.get(request=pending)
    assert grant.status == GrantStatus.REMOVING
    sweeper.sweep_all(overdue(grant))
    sweeper.sweep_all(overdue(grant))  # a second sweep at the same moment sends nothing more
    assert [name for name, _ in queue.items].count("remove_grant") == 1
    queue.run()
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REMOVED
    assert fake_backend.applied == {}
