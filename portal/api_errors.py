"""Map domain exceptions (``core.errors``) to clear API errors, and audit every API permission denial."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from audit.services import record_denied
from core.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"error": exc.code, "detail": exc.message}
        if exc.field_errors:
            body["fields"] = exc.field_errors
        return Response(body, status=exc.status_code)
    if isinstance(exc, exceptions.PermissionDenied) and request is not None and request.user.is_authenticated:
        record_denied(actor=request.user, reason=str(exc.detail), path=request.path, method=request.method)
    return drf_exception_handler(exc, context)
