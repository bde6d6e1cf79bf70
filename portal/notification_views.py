"""The notification centre pages: the list, and marking read (POST only, the recipient only)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.permissions import any_role
from portal import notifications
from portal.permissions import not_found


@any_role
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    items = list(notifications.notifications_for(request.user))
    return render(request, "portal/notifications.html", {"items": items})


@any_role
@require_POST
def read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark read and go to the item it is about."""
    found = notifications.mark_read(actor=request.user, notification_id=pk)
    if found is None:
        raise not_found(request, reason="not the recipient of this notification")
    return redirect(found.link or "notifications")


@any_role
@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    notifications.mark_all_read(actor=request.user)
    return redirect("notifications")
