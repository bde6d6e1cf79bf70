"""Map domain exceptions to clear API errors, and audit every API permission denial."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from audit.services import record_denied


class DomainError(Exception):
    """Base for business-rule refusals raised by services (quota, policy, state)."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class PermissionDeniedError(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"


class NotFoundError(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class ConflictError(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


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
