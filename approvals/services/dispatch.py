"""Scheduling work after commit: tasks and e-mail (tests replace ``enqueue`` here to run tasks themselves)."""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction

from approvals.models import (
    AccessRequest,
)


def send_task(task_name: str, args: list[Any], countdown: float | None = None) -> None:
    """Publish one task (tests replace ``enqueue`` to run tasks themselves)."""
    current_app.send_task(f"approvals.{task_name}", args=args, countdown=countdown)


def enqueue(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Schedule ``task_name`` once the current transaction commits (never for a rolled-back change)."""
    values = [a if isinstance(a, int | float | bool | dict | list | type(None)) else str(a) for a in args]
    transaction.on_commit(lambda: send_task(task_name, values, countdown))


def notify(kind: str, req: AccessRequest | str, **extra: Any) -> None:
    """E-mail the people ``kind`` concerns about ``req``, after commit (``approvals.notifications``)."""
    enqueue("send_notification", kind, str(req.pk if isinstance(req, AccessRequest) else req), extra or None)
