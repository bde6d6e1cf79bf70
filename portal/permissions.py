"""Deny by default: the decorators and helpers every view uses to check role and
ownership, recording each refusal in the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from audit.services import Target, record_denied
from portal.roles import Role, has_role

View = TypeVar("View", bound=Callable[..., HttpResponse])


def forbid(request: HttpRequest, *, reason: str, target: Target = None) -> HttpResponse:
    """Audit the refusal and answer 403 with a plain explanation."""
    record_denied(actor=request.user, target=target, reason=reason, path=request.path, method=request.method)
    return render(request, "portal/forbidden.html", {"reason": reason}, status=403)


def not_found(request: HttpRequest, *, reason: str, target: Target = None) -> Http404:
    """Audit an attempt on someone else's object and hide that it exists (404)."""
    record_denied(actor=request.user, target=target, reason=reason, path=request.path, method=request.method)
    return Http404("Not found")


def role_required(*roles: Role) -> Callable[[View], View]:
    """Only signed-in users holding one of ``roles`` reach the view; others get the
    login page (anonymous) or an audited 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                needed = " or ".join(r.label for r in roles)
                return forbid(request, reason=f"This page is for the {needed} role.")
            return view(request, *args, **kwargs)

        wrapped.enclave_roles = roles  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def any_role(view: View) -> View:
    """Any signed-in user who holds at least one Enclave role."""
    return role_required(*Role)(view)
