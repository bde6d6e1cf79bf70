"""Domain refusals of the workspace lifecycle, mapped to form errors and API responses
(``portal.api_errors.exception_handler``)."""

from __future__ import annotations

from core.errors import ConflictError, DomainError, NotFoundError, PermissionDeniedError


class WorkspaceRequestInvalid(DomainError):
    """The request's inputs break the template's rules; ``field_errors`` says which."""

    code = "workspace_request_invalid"


class QuotaExceeded(ConflictError):
    """The user already has as many workspaces as their role or the template allows."""

    code = "quota_exceeded"


class InvalidTransition(ConflictError):
    """The workspace is not in a state that allows this action (e.g. stop a stopped one)."""

    code = "invalid_transition"


class NotAllowed(PermissionDeniedError):
    """The actor's role does not allow this action at all."""

    code = "not_allowed"


class WorkspaceNotFound(NotFoundError):
    """No such workspace — or one the actor may not see (we do not say which)."""

    code = "workspace_not_found"

    def __init__(self, message: str = "No such workspace.") -> None:
        super().__init__(message)


class WorkspaceUnavailable(ConflictError):
    """The cloud could not produce what was asked right now (e.g. the sign-in link)."""

    code = "workspace_unavailable"
