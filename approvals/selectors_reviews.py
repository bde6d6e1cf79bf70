"""Reads of access reviews: campaigns, a round's report, a reviewer's inbox, and the grants of a
scientist that are under review. Constant query counts; permission checks stay in the callers
(``approvals.permissions``) and in the inbox filter itself."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.db.models import Count, Q, QuerySet

from approvals import permissions
from approvals.models import ItemOutcome, ReviewCampaign, ReviewItem, ReviewRound
from approvals.services.common import _fallback_group_id
from core.roles import Role, has_role


def campaigns() -> QuerySet[ReviewCampaign]:
    return ReviewCampaign.objects.select_related("fallback_group", "created_by").annotate(round_count=Count("rounds"))


def rounds_of(campaign: ReviewCampaign) -> QuerySet[ReviewRound]:
    return campaign.rounds.annotate(
        item_count=Count("items"),
        pending_count=Count("items", filter=Q(items__outcome=ItemOutcome.PENDING)),
        revoked_count=Count(
            "items", filter=Q(items__outcome__in=(ItemOutcome.REVOKED, ItemOutcome.REVOKED_BY_DEFAULT))
        ),
    )


def round_items(rnd: ReviewRound) -> QuerySet[ReviewItem]:
    return rnd.items.select_related(
        "grant", "grant__workspace", "grant__request", "dataset", "holder", "reviewer", "decided_by"
    ).order_by("dataset__slug", "holder__username", "id")


def review_inbox_for(user: Any) -> list[ReviewItem]:
    """Pending items in open rounds that ``user`` may answer (never their own access)."""
    if not has_role(user, Role.APPROVER):
        return []
    mine = Q(reviewer=user)
    groups = permissions.group_ids_of(user)
    default_fallback = _fallback_group_id()
    fallback = Q(round__campaign__fallback_group_id__in=groups)
    if default_fallback is not None and default_fallback in groups:
        fallback |= Q(round__campaign__fallback_group__isnull=True)
    mine |= fallback & (Q(reviewer__isnull=True) | Q(round__escalated_at__isnull=False))
    items = (
        ReviewItem.objects.filter(mine, outcome=ItemOutcome.PENDING, round__closed_at__isnull=True)
        .exclude(holder=user)
        .select_related("round", "round__campaign", "grant", "grant__request", "grant__workspace", "dataset", "holder")
        .order_by("round__deadline", "dataset__slug", "id")
    )
    return list(items[:500])


def under_review_for(user: Any) -> dict[Any, ReviewItem]:
    """The scientist's grants under review now: grant id → the pending item (with its deadline)."""
    items = ReviewItem.objects.filter(holder=user, outcome=ItemOutcome.PENDING, round__closed_at__isnull=True)
    return {item.grant_id: item for item in items.select_related("round", "round__campaign", "dataset")}


def round_csv(rnd: ReviewRound) -> str:
    """The campaign report of one round: who reviewed what, when, with what outcome, what was
    removed and when the cloud confirmed removal."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([
        "campaign", "round_started", "deadline", "item", "dataset", "holder", "workspace", "grant", "reviewer",
        "outcome", "decided_by", "decided_at", "reason", "removal_confirmed_at",
    ])  # fmt: skip
    for item in round_items(rnd):
        writer.writerow([
            rnd.campaign.name, rnd.started_at.isoformat(), rnd.deadline.isoformat(), item.pk, item.dataset.slug,
            item.holder.get_username(), item.grant.workspace_id, item.grant_id,
            item.reviewer.get_username() if item.reviewer else "(fallback group)", item.outcome,
            item.decided_by.get_username() if item.decided_by else "", item.decided_at.isoformat() if item.decided_at
            else "", _safe(item.reason), item.grant.removed_at.isoformat() if item.grant.removed_at else "",
        ])  # fmt: skip
    return out.getvalue()


def _safe(value: str) -> str:
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
