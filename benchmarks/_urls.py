"""The portal's URLs plus ``/bench/floor/``: an authenticated trivial page through the full
middleware stack (sessions, auth, MFA, CSP, axes, ...), rendered in the site's frame with no
content — the least any page can cost, measured in the same run and server as the pages."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path
from django.views.decorators.http import require_GET


@login_required
@require_GET
def floor(request: HttpRequest) -> HttpResponse:
    return render(request, "base.html", {})


urlpatterns = [path("bench/floor/", floor, name="bench-floor"), path("", include("portal.urls"))]
