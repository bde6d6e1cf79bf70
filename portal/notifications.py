"""The in-app notification centre: services to notify and mark read, selectors to list and count.

Apps above ``portal`` call ``notify`` next to their e-mail; the header shows the unread count.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from portal.models import Notification

MAX_LISTED = 100


def notify(*, user: Any, text: str, link: str = "") -> Notification:
    """Leave ``user`` a notification. ``link`` must be a path inside the portal (no open redirect)."""
    if link and not (link.startswith("/") and not link.startswith("//")):
        raise ValueError("a notification links to a path inside the portal")
    return Notification.objects.create(user=user, text=text[:300], link=link)


def notifications_for(user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(user_id=user.pk)[:MAX_LISTED]


def unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def mark_read(*, actor: Any, notification_id: int) -> Notification | None:
    """Mark one of the actor's own notifications read; someone else's is not found (None)."""
    found = Notification.objects.filter(pk=notification_id, user_id=actor.pk).first()
    if found is not None and found.read_at is None:
        found.read_at = timezone.now()
        found.save(update_fields=["read_at"])
    return found


def mark_all_read(*, actor: Any) -> int:
    return Notification.objects.filter(user_id=actor.pk, read_at__isnull=True).update(read_at=timezone.now())
