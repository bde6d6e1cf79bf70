"""Who is acting, from where, under which correlation id — for logs and the audit trail.

Set by the web middleware for a request and by Celery signals for a task, read by
``audit.record`` and by the log processors. Context variables keep threads and
async tasks apart.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


@dataclass(frozen=True)
class ActorContext:
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""
    system_actor: str = ""  # e.g. "task:workspaces.provision" when no user acts


_current: ContextVar[ActorContext] = ContextVar("enclave_actor_context", default=ActorContext())  # noqa: B039 - frozen


def current() -> ActorContext:
    return _current.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def clean_request_id(candidate: str | None) -> str:
    """Accept an upstream correlation id only if it looks like one (no log injection)."""
    if candidate and _REQUEST_ID_RE.match(candidate):
        return candidate
    return new_request_id()


@contextmanager
def bind(**changes: str | None) -> Iterator[ActorContext]:
    """Run a block with parts of the context replaced, restoring it afterwards."""
    ctx = replace(_current.get(), **changes)  # type: ignore[arg-type]
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
