"""Domain refusals of data-access approvals, mapped to form errors and API responses
(``portal.api_errors.exception_handler``)."""

from __future__ import annotations

from core.errors import ConflictError, DomainError, NotFoundError, PermissionDeniedError


class RequestInvalid(DomainError):
    """The request's inputs break the dataset's policy; ``field_errors`` says which."""

    code = "access_request_invalid"


class DatasetInvalid(DomainError):
    """A dataset or policy edit breaks a catalog rule; ``field_errors`` says which."""

    code = "dataset_invalid"


class NotAllowed(PermissionDeniedError):
    """The actor may not do this (wrong role, not in the approver group, own request)."""

    code = "not_allowed"


class AlreadyDecided(ConflictError):
    """The request is no longer open for this action (decided, withdrawn, already yours)."""

    code = "already_decided"


class InvalidTransition(ConflictError):
    """The request or grant is not in a state that allows this action."""

    code = "invalid_transition"


class RequestNotFound(NotFoundError):
    """No such request — or one the actor may not see (we do not say which)."""

    code = "access_request_not_found"

    def __init__(self, message: str = "No such access request.") -> None:
        super().__init__(message)


class ReviewInvalid(DomainError):
    """A review campaign's definition or a review answer breaks a rule; ``field_errors`` says which."""

    code = "access_review_invalid"


class ReviewItemNotFound(NotFoundError):
    """No such review item — or one the actor may not review (we do not say which)."""

    code = "review_item_not_found"

    def __init__(self, message: str = "No such review item.") -> None:
        super().__init__(message)


class SelfReview(PermissionDeniedError):
    """Nobody reviews their own access."""

    code = "self_review"
