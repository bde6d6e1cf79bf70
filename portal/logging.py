"""Structured JSON logs (structlog) that carry the correlation id of the request or task."""

from __future__ import annotations

import logging
from typing import Any

import structlog

from core import context


def _add_context(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    ctx = context.current()
    if ctx.request_id:
        event_dict.setdefault("request_id", ctx.request_id)
    if ctx.system_actor:
        event_dict.setdefault("actor", ctx.system_actor)
    return event_dict


SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _add_context,
]


def make_formatter(fmt: str = "json") -> logging.Formatter:
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )


structlog.configure(
    processors=[*SHARED_PROCESSORS, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
