"""The Celery app: JSON only, late acks, time limits, and the correlation id carried
from the web request that enqueued a task into the task's logs and audit events."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("enclave")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

CORRELATION_HEADER = "enclave_request_id"
_task_tokens: dict[str, Any] = {}


@signals.before_task_publish.connect
def _attach_correlation_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    from core import context

    request_id = context.current().request_id
    if headers is not None and request_id:
        headers.setdefault(CORRELATION_HEADER, request_id)


@signals.task_prerun.connect
def _bind_correlation_id(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    from core import context

    request_id = getattr(task.request, CORRELATION_HEADER, None) if task is not None else None
    cm = context.bind(request_id=context.clean_request_id(request_id), system_actor=f"task:{task.name}" if task else "")
    cm.__enter__()
    if task_id:
        _task_tokens[task_id] = cm


@signals.task_postrun.connect
def _unbind_correlation_id(task_id: str | None = None, **_: Any) -> None:
    cm = _task_tokens.pop(task_id or "", None)
    if cm is not None:
        cm.__exit__(None, None, None)


@signals.setup_logging.connect
def _use_django_logging(**_: Any) -> None:
    """Keep Celery from replacing the structlog JSON handlers configured by Django."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
