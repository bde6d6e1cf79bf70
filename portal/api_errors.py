"""Map domain exceptions (``core.errors``) to clear API errors, and audit every API permission denial.

This is also the API half of ``portal.errors``: a value an ORM lookup cannot use (an id that is not
a UUID, an integer beyond the column's range, a malformed cursor position) is a 400 in the project's
JSON error shape, never a 500; a rate limit is a 429 with ``Retry-After``, recorded (bounded)."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from audit.services import record_denied
from core.errors import DomainError
from portal.errors import MALFORMED_INPUT_ERRORS, error_body

logger = logging.getLogger("enclave.errors")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"error": exc.code, "detail": exc.message}
        if exc.field_errors:
            body["fields"] = exc.field_errors
        return Response(body, status=exc.status_code)
    if isinstance(exc, MALFORMED_INPUT_ERRORS):
        path = request.path if request is not None else "?"
        logger.warning("malformed API input refused: %s: %r", path, exc)
        return Response(error_body("bad_request", "The request has a malformed or out-of-range value."), status=400)
    if isinstance(exc, exceptions.Throttled) and request is not None:
        from portal.refusals import record_refusal

        user = request.user if request.user.is_authenticated else None
        record_refusal(request, kind="throttled", reason="rate limit reached", actor=user, scope=_scope(context))
    elif (
        isinstance(exc, exceptions.PermissionDenied)
        and not getattr(exc, "audited", False)
        and request is not None
        and request.user.is_authenticated
    ):
        record_denied(actor=request.user, reason=str(exc.detail), path=request.path, method=request.method)
    return drf_exception_handler(exc, context)


def _scope(context: dict[str, Any]) -> str:
    view = context.get("view")
    return str(getattr(view, "throttle_scope", "") or "")
