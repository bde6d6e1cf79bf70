"""Deny by default: the role gate every page uses.

A signed-in user without one of the roles gets ``PermissionDenied`` with a plain
reason; the project's 403 handler (``portal.views.forbidden``) records the refusal in
the audit trail and renders the styled page. Keeping the gate here, below the audit
app, lets every app (the audit trail's own pages included) use the same decorator.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from core.roles import Role, has_role

View = TypeVar("View", bound=Callable[..., HttpResponse])


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
                raise PermissionDenied(f"This page is for the {needed} role.")
            return view(request, *args, **kwargs)

        wrapped.enclave_roles = roles  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def any_role(view: View) -> View:
    """Any signed-in user who holds at least one Enclave role."""
    return role_required(*Role)(view)
