"""Portal-wide pages: the role-aware dashboard, the no-access page and the audited 403 handler."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.services import record_denied
from core.roles import roles_of
from portal import selectors


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Each role sees its own starting points; a user with no role sees why not."""
    if not roles_of(request.user):
        return render(request, "portal/no_access.html", status=403)
    return render(request, "portal/dashboard.html", {"panels": selectors.dashboard_panels(request.user)})


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The project's 403 handler: every ``PermissionDenied`` (the role gate in
    ``core.permissions`` raises it) is recorded in the audit trail and answered with the styled page."""
    reason = str(exception) if exception and str(exception) else "You do not have access to this page."
    record_denied(actor=request.user, reason=reason, path=request.path, method=request.method)
    return render(request, "portal/forbidden.html", {"reason": reason}, status=403)
