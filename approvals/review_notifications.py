"""E-mail about access reviews: reviewers when a round starts and at half time, the fallback group
when it is escalated. One message per recipient, none to the holders of the grants under review."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from approvals.models import ItemOutcome, ReviewRound
from approvals.services.reviews import fallback_group_id_for
from core.roles import Role

log = logging.getLogger(__name__)
KINDS = {"review_started": "Access review started", "review_reminder": "Reminder: access review",
         "review_escalated": "Escalated: access review"}  # fmt: skip


def recipients(kind: str, rnd: ReviewRound) -> dict[str, int]:
    """Address → how many pending items that person may answer."""
    pending = rnd.items.filter(outcome=ItemOutcome.PENDING)
    users = get_user_model().objects.filter(is_active=True, groups__name=Role.APPROVER).exclude(email="")
    out: dict[str, int] = {}
    for user in users.filter(pk__in=pending.values("reviewer_id")).distinct():
        out[user.email] = pending.filter(reviewer=user).count()
    group_id = fallback_group_id_for(rnd.campaign)
    if group_id is not None:
        scope = pending if kind == "review_escalated" else pending.filter(reviewer__isnull=True)
        for user in users.filter(groups__id=group_id).distinct():
            count = scope.exclude(holder=user).count()
            if count:
                out[user.email] = max(out.get(user.email, 0), count)
    return out


def send(round_id: Any, kind: str) -> int:
    if kind not in KINDS:
        raise ValueError(f"unknown review notification {kind!r}")
    rnd = ReviewRound.objects.select_related("campaign").filter(pk=round_id).first()
    if rnd is None:
        return 0
    to = recipients(kind, rnd)
    inbox = f"{str(settings.ENCLAVE_BASE_URL).rstrip('/')}{reverse('approvals:review_inbox')}"
    for address, count in to.items():
        body = render_to_string(
            "email/approvals/review_notification.txt", {"round": rnd, "kind": kind, "count": count, "inbox_url": inbox}
        )
        EmailMultiAlternatives(subject=f"{KINDS[kind]}: {rnd.campaign.name}", body=body, to=[address]).send()
    log.info("approvals: sent %s for review round %s to %d recipient(s)", kind, round_id, len(to))
    return len(to)
