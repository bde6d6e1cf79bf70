"""Ownership refusals for views: audited 403s and 404s that hide whether an object exists.
(The role gate itself is ``core.permissions.role_required``.)"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from audit.services import Target, record_denied


def forbid(request: HttpRequest, *, reason: str, target: Target = None) -> HttpResponse:
    """Audit the refusal and answer 403 with a plain explanation."""
    record_denied(actor=request.user, target=target, reason=reason, path=request.path, method=request.method)
    return render(request, "portal/forbidden.html", {"reason": reason}, status=403)


def not_found(request: HttpRequest, *, reason: str, target: Target = None) -> Http404:
    """Audit an attempt on someone else's object and hide that it exists (404)."""
    record_denied(actor=request.user, target=target, reason=reason, path=request.path, method=request.method)
    return Http404("Not found")
