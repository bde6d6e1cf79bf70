"""Request-scoped middleware: correlation id and client address for logs and audit,
and session idle/absolute timeouts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from core import context

REQUEST_ID_HEADER = "X-Request-ID"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"


class HealthCheckMiddleware:
    """Answers ``/healthz`` and ``/readyz`` before host validation and HTTPS redirects, so load
    balancers and container healthchecks can probe by IP over plain HTTP. ``/healthz`` proves a
    database round trip (cheap: liveness); ``/readyz`` also the broker, 503 if either fails."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            from django.db import connection
            from django.http import JsonResponse

            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return JsonResponse({"status": "ok"})
        if request.path == READY_PATH and request.method in ("GET", "HEAD"):
            from django.http import JsonResponse

            from portal import health

            checks = health.readiness()
            ready = all(c.ok for c in checks)
            return JsonResponse(
                {"status": "ok" if ready else "unavailable", "checks": {c.name: c.detail for c in checks}},
                status=200 if ready else 503,
            )
        return self.get_response(request)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address; behind a trusted proxy, the left-most X-Forwarded-For hop."""
    if getattr(settings, "BEHIND_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Binds the request id, client IP and user agent for the whole request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = context.clean_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            with context.bind(
                request_id=request_id,
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", "")[:400],
                system_actor="",
            ):
                response = self.get_response(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        response[REQUEST_ID_HEADER] = request_id
        return response


SESSION_LAST_SEEN = "_enclave_last_seen"
SESSION_STARTED = "_enclave_started"


class SessionTimeoutMiddleware:
    """Ends a session after idle time or an absolute lifetime, whichever comes first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user: Any = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            session = request.session
            started = session.setdefault(SESSION_STARTED, now)
            last_seen = session.get(SESSION_LAST_SEEN, now)
            idle = now - last_seen > settings.SESSION_IDLE_TIMEOUT_SECONDS
            too_old = now - started > settings.SESSION_ABSOLUTE_SECONDS
            if idle or too_old:
                from audit.actions import Action
                from audit.services import record

                record(
                    action=Action.AUTH_SESSION_EXPIRED,
                    actor=user,
                    target=user,
                    details={"reason": "idle timeout" if idle else "absolute lifetime reached"},
                )
                logout(request)
                messages.info(request, "Your session expired. Please sign in again.")
                return redirect(settings.LOGIN_URL)
            # Writing on every request would churn the session store; a minute's precision is enough.
            if now - last_seen > 60 or SESSION_LAST_SEEN not in session:
                session[SESSION_LAST_SEEN] = now
        return self.get_response(request)
