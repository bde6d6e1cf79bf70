"""Domain errors: the refusals services raise (quota, policy, state, permission).

Views map them to form errors and styled pages, the API to its JSON error shape
(``portal.api_errors``). They live below every app so that the audit trail's own
services can raise them too.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base for business-rule refusals raised by services (quota, policy, state)."""

    status_code: int = 400
    code = "invalid"

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class PermissionDeniedError(DomainError):
    status_code = 403
    code = "permission_denied"


class NotFoundError(DomainError):
    status_code = 404
    code = "not_found"


class ConflictError(DomainError):
    status_code = 409
    code = "conflict"
