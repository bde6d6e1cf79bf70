"""Publishing tasks without ever failing the caller: the broker carries hints, the database the truth.

Every item that owes a task records when it is next due (``Workspace.next_due_at``,
``Grant.next_due_at``) in the same transaction as its state change; the publish after commit is
only a hint that makes the work start at once. If the broker is down, slow or refuses the
message, ``publish`` logs it and returns ``False`` — the web request or task that asked carries on
with its normal answer, and the sweeper (``workspaces.sweeper``) re-sends the task once the item
is overdue. So a committed intent always gets its task; it may only be a few minutes late.

A dead broker fails fast: no publish retries here, and the connection timeout is
``CELERY_BROKER_CONNECTION_TIMEOUT`` (2 s by default).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from celery import current_app

log = logging.getLogger(__name__)


def publish(task_name: str, args: Sequence[Any], *, countdown: float | None = None) -> bool:
    """Send one task by its registered name; ``False`` (logged, never raised) if the broker failed."""
    try:
        current_app.send_task(task_name, args=list(args), countdown=countdown, retry=False)
    except Exception as exc:  # kombu OperationalError, redis ConnectionError, socket errors, timeouts...
        log.warning(
            "could not publish %s%s: %s: %s; the sweeper will re-send it when it is due",
            task_name, list(args), type(exc).__name__, exc,
        )  # fmt: skip
        return False
    return True
