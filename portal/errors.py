"""The one place that turns bad input and failures into answers: JSON in the project's error shape
(``{"error": code, "detail": message}``) under ``/api/``, a styled page elsewhere, never a stack trace.

- ``MalformedInputMiddleware`` refuses path identifiers that cannot name a row (a string shaped like a
  UUID that is not one, an integer beyond the database's range) before any view queries with them, and
  turns the exceptions an ORM lookup raises on such input (``ValueError``, ``OverflowError``, Django's
  ``ValidationError``, the database's ``DataError``) into a 400 if one still escapes a page view.
- ``bad_request``/``page_not_found``/``server_error`` are the project's handler400/404/500.
- ``csrf_failure`` is ``CSRF_FAILURE_VIEW``: a styled (or JSON) 403 and a bounded audit event.
The API side of the same mapping is ``portal.api_errors.exception_handler``.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

logger = logging.getLogger("enclave.errors")

# Exceptions an ORM lookup raises for a value that cannot be stored in the column it is compared with.
MALFORMED_INPUT_ERRORS: tuple[type[BaseException], ...] = (
    DjangoValidationError,
    ValueError,
    OverflowError,
    DataError,
)
# Largest value of a signed 64-bit integer column (BigAutoField, BigIntegerField) on every database we run on.
DB_BIGINT_MAX = 2**63 - 1
_UUID_SHAPED = re.compile(r"^[0-9a-fA-F-]{32,36}$")
_DIGITS = re.compile(r"^[0-9]+$")


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, **extra}


def _page(request: HttpRequest, template: str, status: int, context: dict[str, Any]) -> HttpResponse:
    try:
        return render(request, template, context, status=status)
    except Exception:  # a broken template or context processor must not turn a 4xx into a 500
        logger.exception("error page %s failed to render", template)
        return HttpResponse(f"<!doctype html><title>Error {status}</title><h1>Error {status}</h1>", status=status)


def respond(request: HttpRequest, *, status: int, code: str, detail: str, page_detail: str = "") -> HttpResponse:
    """The answer to a refused or failed request: JSON under /api/, the styled page elsewhere
    (``page_detail``, when given, is the sentence a person reads instead of ``detail``)."""
    if wants_json(request):
        return JsonResponse(error_body(code, detail), status=status)
    shown = page_detail or detail
    return _page(request, f"{status}.html", status, {"detail": shown, "reason": shown})


NOT_FOUND_PAGE = "It may have been removed, the address may be wrong, or it is not yours to see."


def malformed_path_value(value: Any) -> str | None:
    """Why a URL path value cannot identify any row, or None if it might.

    The URL patterns accept ``[0-9a-f-]{36}`` for UUIDs and ``[0-9]+`` for integers; a value that matches
    the pattern but is not a UUID, or is an integer no column can hold, names nothing."""
    if not isinstance(value, str):
        if isinstance(value, int) and not isinstance(value, bool) and value > DB_BIGINT_MAX:
            return "identifier out of range"
        return None
    if _DIGITS.match(value):
        return "identifier out of range" if int(value) > DB_BIGINT_MAX else None
    if _UUID_SHAPED.match(value) and "-" in value:
        try:
            uuid.UUID(value)
        except ValueError:
            return "not a valid UUID"
    return None


class MalformedInputMiddleware:
    """Path identifiers that cannot name a row are a 404 before the view runs; malformed values that
    escape a page view's lookup are a 400 (API views answer through ``portal.api_errors``)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = self.get_response(request)
        return response

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any) -> Any:
        for value in [*view_args, *view_kwargs.values()]:
            if malformed_path_value(value):
                return respond(request, status=404, code="not_found", detail="Not found.", page_detail=NOT_FOUND_PAGE)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, MALFORMED_INPUT_ERRORS):
            logger.warning("malformed input refused: %s %s: %r", request.method, request.path, exception)
            return respond(
                request, status=400, code="bad_request", detail="The request has a malformed or out-of-range value."
            )
        return None


# --- handler400/403/404/500 and the CSRF failure view --------------------------------------------------


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return respond(request, status=400, code="bad_request", detail="The request could not be understood.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return respond(request, status=404, code="not_found", detail="Not found.", page_detail=NOT_FOUND_PAGE)


def server_error(request: HttpRequest) -> HttpResponse:
    """No request context here (it may be what failed): a plain render of the styled page."""
    detail = "The error has been logged. Please try again in a moment."
    if wants_json(request):
        return JsonResponse(error_body("server_error", detail), status=500)
    try:
        return HttpResponse(loader.get_template("500.html").render({"detail": detail}), status=500)
    except Exception:
        logger.exception("500.html failed to render")
        return HttpResponse("<!doctype html><title>Server error</title><h1>Server error</h1>", status=500)


def too_many_requests(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """allauth's sign-in rate limit (``ACCOUNT_RATE_LIMITS``, per minute): 429 with ``Retry-After``."""
    from portal.refusals import record_refusal

    record_refusal(request, kind="throttled", reason="sign-in rate limit reached")
    response = respond(
        request, status=429, code="throttled", detail="Too many attempts. Wait a minute, then try again."
    )
    response["Retry-After"] = "60"
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused cross-site or stale form: recorded (rate-bounded per source) and explained."""
    from portal.refusals import record_refusal

    record_refusal(
        request, kind="csrf_failed", reason=reason or "CSRF verification failed", actor=getattr(request, "user", None)
    )
    detail = "This form has expired or did not come from Enclave. Go back, reload the page and try again."
    return respond(request, status=403, code="csrf_failed", detail=detail)
