"""Role-membership history: who was in which group when, kept as ``GroupMembershipPeriod`` rows.

Roles and approver groups are Django groups, assigned at SSO sign-in, by SCIM and in the admin;
all of them go through ``user.groups`` (or ``group.user_set``), which sends ``m2m_changed``. Listening
here records every path without editing the identity code, and inside the same transaction as the
change, so history and membership cannot disagree. ``ApprovalsConfig.ready`` connects it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.models import GroupMembershipPeriod


def _pairs(instance: Any, reverse: bool, pk_set: set[Any] | None) -> list[tuple[Any, Any]]:
    """(user_id, group_id) pairs the change is about."""
    if reverse:  # group.user_set.add(users...)
        return [(user_id, instance.pk) for user_id in pk_set or ()]
    return [(instance.pk, group_id) for group_id in pk_set or ()]


def membership_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[Any] | None, **_: Any
) -> None:
    now = timezone.now()
    if action == "post_add":
        pairs = _pairs(instance, reverse, pk_set)
        open_now = set(
            GroupMembershipPeriod.objects.filter(
                user_id__in={u for u, _ in pairs}, group_id__in={g for _, g in pairs}, ended_at__isnull=True
            ).values_list("user_id", "group_id")
        )
        GroupMembershipPeriod.objects.bulk_create(
            GroupMembershipPeriod(user_id=u, group_id=g, started_at=now) for u, g in pairs if (u, g) not in open_now
        )
    elif action == "post_remove":
        for user_id, group_id in _pairs(instance, reverse, pk_set):
            GroupMembershipPeriod.objects.filter(user_id=user_id, group_id=group_id, ended_at__isnull=True).update(
                ended_at=now
            )
    elif action == "pre_clear":
        field = "group_id" if reverse else "user_id"
        GroupMembershipPeriod.objects.filter(**{field: instance.pk, "ended_at__isnull": True}).update(ended_at=now)


def connect() -> None:
    from django.db.models.signals import m2m_changed

    m2m_changed.connect(
        membership_changed, sender=get_user_model().groups.through, dispatch_uid="approvals.membership_history"
    )
