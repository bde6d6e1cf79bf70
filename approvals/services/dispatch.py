"""Scheduling work after commit: tasks and e-mail (tests replace ``enqueue`` here to run tasks themselves)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.models import GRANT_IN_FLIGHT, AccessRequest, Grant
from workspaces import dispatch

GRANT_TASKS = frozenset({"apply_grant", "remove_grant"})


def send_task(task_name: str, args: list[Any], countdown: float | None = None) -> None:
    """Publish one task (tests replace ``enqueue`` to run tasks themselves).

    Never raises for a broker failure: a grant being applied or removed has its ``next_due_at``
    committed, so the sweeper re-sends its task; an e-mail that could not be queued is logged."""
    if not dispatch.publish(f"approvals.{task_name}", args, countdown=countdown) and task_name in GRANT_TASKS:
        Grant.objects.filter(pk=args[0], status__in=GRANT_IN_FLIGHT).update(next_due_at=timezone.now())


def enqueue(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Schedule ``task_name`` once the current transaction commits (never for a rolled-back change)."""
    values = [a if isinstance(a, int | float | bool | dict | list | type(None)) else str(a) for a in args]
    transaction.on_commit(lambda: send_task(task_name, values, countdown))


def notify(kind: str, req: AccessRequest | str, **extra: Any) -> None:
    """E-mail the people ``kind`` concerns about ``req``, after commit (``approvals.notifications``)."""
    enqueue("send_notification", kind, str(req.pk if isinstance(req, AccessRequest) else req), extra or None)
