"""Portal-wide pages: the role-aware dashboard and the no-access page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal import selectors
from portal.roles import roles_of


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Each role sees its own starting points; a user with no role sees why not."""
    if not roles_of(request.user):
        return render(request, "portal/no_access.html", status=403)
    return render(request, "portal/dashboard.html", {"panels": selectors.dashboard_panels(request.user)})
