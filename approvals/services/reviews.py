"""Access reviews: periodic re-certification of who holds production-data access.

A catalog admin defines a ``ReviewCampaign``; beat starts a ``ReviewRound`` when it is due, which
freezes every active grant in scope into a ``ReviewItem`` for the dataset's steward (or the fallback
group). Reviewers certify or revoke with a reason; nobody reviews their own access. Reviewers are
reminded at half time and the fallback group is brought in at three quarters. At the deadline the
round closes and every unanswered item takes the campaign's default — restricted data is always
revoked on no answer. Revocations go through the same path as an early revocation
(``withdrawals._revoke``: the request is revoked, the grant marked for removal and removed in the
cloud by ``approvals.remove_grant``), so the cloud permission, the audit trail and the report agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q

from approvals import permissions
from approvals.exceptions import InvalidTransition, NotAllowed, ReviewInvalid, ReviewItemNotFound, SelfReview
from approvals.models import (
    Dataset,
    Grant,
    ItemOutcome,
    NoAnswer,
    Recurrence,
    ReviewCampaign,
    ReviewItem,
    ReviewRound,
    ReviewScope,
)
from approvals.services import dispatch
from approvals.services.common import G, R, _audited_refusal, _describe, _fallback_group_id, _lock, _now
from approvals.services.withdrawals import _revoke
from audit.actions import Action
from audit.services import record
from catalog.models import Classification

SYSTEM = "task:approvals.run_access_reviews"
MIN_REASON = 5
MAX_REASON = 2000
ACTIVE_GRANT_STATUSES = (G.PENDING, G.APPLIED, G.APPLY_FAILED)
REMIND_AT = 0.5  # of the round's duration
ESCALATE_AT = 0.75
RECURRENCE_MONTHS = {Recurrence.MONTHLY: 1, Recurrence.QUARTERLY: 3}


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later (the last day of a shorter month)."""
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


class Verdict:
    CERTIFY = "certify"
    REVOKE = "revoke"


def _campaign_summary(campaign: ReviewCampaign) -> dict[str, Any]:
    return {
        "campaign": campaign.name,
        "scope": campaign.scope,
        "datasets": sorted(campaign.datasets.values_list("slug", flat=True)),
        "recurrence": campaign.recurrence,
        "duration_days": campaign.duration_days,
        "on_no_answer": campaign.on_no_answer,
        "fallback_group": campaign.fallback_group.name if campaign.fallback_group else "",
    }


def create_campaign(
    *,
    actor: Any,
    name: str,
    scope: str = ReviewScope.SENSITIVE,
    recurrence: str = Recurrence.QUARTERLY,
    duration_days: int = 14,
    on_no_answer: str = NoAnswer.REVOKE,
    datasets: Iterable[Dataset] = (),
    fallback_group: Group | None = None,
    first_run_at: datetime | None = None,
) -> ReviewCampaign:
    """A catalog admin defines a campaign; its first round starts at ``first_run_at`` (default: the next
    beat sweep). Campaigns are re-certification policy, so only catalog admins set them."""
    datasets = list(datasets)
    with _audited_refusal(actor, Action.ACCESS_REVIEW_REFUSED, ("approvals.reviewcampaign", "", name[:80])):
        if not permissions.can_manage_reviews(actor):
            raise NotAllowed("Only catalog admins define access reviews.")
        errors: dict[str, list[str]] = {}
        name = (name or "").strip()
        if not name or len(name) > 120:
            errors["name"] = ["Give the campaign a name of up to 120 characters."]
        elif ReviewCampaign.objects.filter(name=name).exists():
            errors["name"] = ["A campaign with this name exists."]
        if scope not in ReviewScope.values:
            errors["scope"] = [f"Choose one of {', '.join(ReviewScope.values)}."]
        if scope == ReviewScope.CHOSEN and not datasets:
            errors["datasets"] = ["Choose at least one dataset."]
        if recurrence not in Recurrence.values:
            errors["recurrence"] = [f"Choose one of {', '.join(Recurrence.values)}."]
        if not 1 <= int(duration_days) <= 90:
            errors["duration_days"] = ["A review lasts 1 to 90 days."]
        if on_no_answer not in NoAnswer.values:
            errors["on_no_answer"] = [f"Choose one of {', '.join(NoAnswer.values)}."]
        if errors:
            raise ReviewInvalid("The campaign is not valid.", field_errors=errors)
        first_run = first_run_at or _now()
        with transaction.atomic():
            campaign = ReviewCampaign.objects.create(
                name=name, scope=scope, recurrence=recurrence, duration_days=duration_days,
                on_no_answer=on_no_answer, fallback_group=fallback_group, created_by=actor,
                next_run_at=first_run,
            )  # fmt: skip
            if scope == ReviewScope.CHOSEN:
                campaign.datasets.set(datasets)
            record(
                action=Action.ACCESS_REVIEW_CREATED, actor=actor, target=campaign,
                details={**_campaign_summary(campaign), "first_run_at": first_run.isoformat()},
            )  # fmt: skip
    return campaign


def grants_in_scope(campaign: ReviewCampaign) -> Any:
    """Active grants the campaign reviews (a grant being applied or retried counts: it is access given)."""
    grants = Grant.objects.filter(request__state__in=(R.APPROVED, R.ACTIVE), status__in=ACTIVE_GRANT_STATUSES)
    if campaign.scope == ReviewScope.CHOSEN:
        return grants.filter(dataset__in=campaign.datasets.all())
    return grants.filter(dataset__classification__in=(Classification.CONFIDENTIAL, Classification.RESTRICTED))


def start_round(campaign_id: Any, now: datetime | None = None) -> ReviewRound | None:
    """Start the campaign's round if it is due: one item per active grant in scope, reviewed by the
    dataset's steward (the fallback group when there is none, or when the steward holds the grant).
    Idempotent: a duplicate run finds ``next_run_at`` moved on and does nothing."""
    now = _now(now)
    with transaction.atomic():
        campaign = ReviewCampaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or not campaign.active or campaign.next_run_at is None or campaign.next_run_at > now:
            return None
        rnd = ReviewRound.objects.create(
            campaign=campaign, started_at=now, deadline=now + timedelta(days=campaign.duration_days)
        )
        rows = grants_in_scope(campaign).select_related("dataset", "request").order_by("created_at")
        items = []
        for grant in rows:
            steward = grant.dataset.steward_id
            restricted = grant.dataset.classification == Classification.RESTRICTED
            items.append(
                ReviewItem(
                    round=rnd, grant=grant, dataset=grant.dataset, holder_id=grant.request.requester_id,
                    reviewer_id=steward if steward != grant.request.requester_id else None,
                    on_no_answer=NoAnswer.REVOKE if restricted else campaign.on_no_answer,
                )
            )  # fmt: skip
        ReviewItem.objects.bulk_create(items)
        months = RECURRENCE_MONTHS.get(Recurrence(campaign.recurrence))
        if months:
            campaign.next_run_at = add_months(campaign.next_run_at, months)
            while campaign.next_run_at <= now:  # periods missed while beat was down start once, not many times
                campaign.next_run_at = add_months(campaign.next_run_at, months)
        else:
            campaign.next_run_at = None
        if campaign.next_run_at is None:
            campaign.active = False
        campaign.save(update_fields=["next_run_at", "active"])
        record(
            action=Action.ACCESS_REVIEW_STARTED, target=rnd, system_actor=SYSTEM,
            details={
                "campaign": campaign.name, "round": rnd.pk, "items": len(items),
                "deadline": rnd.deadline.isoformat(),
                "next_run_at": campaign.next_run_at.isoformat() if campaign.next_run_at else None,
            },
        )  # fmt: skip
        if items:
            dispatch.enqueue("send_review_notification", rnd.pk, "review_started")
    return rnd


def _item_for_update(item_id: Any) -> ReviewItem:
    try:
        return (
            ReviewItem.objects.select_for_update(of=("self",))
            .select_related("round", "round__campaign", "grant", "dataset", "holder")
            .get(pk=item_id)
        )
    except (ReviewItem.DoesNotExist, ValueError, TypeError) as exc:
        raise ReviewItemNotFound() from exc


def fallback_group_id_for(campaign: ReviewCampaign) -> int | None:
    return campaign.fallback_group_id or _fallback_group_id()


def may_review(user: Any, item: ReviewItem) -> bool:
    rnd = item.round
    return permissions.may_review(
        user, holder_id=item.holder_id, reviewer_id=item.reviewer_id,
        fallback_group_id=fallback_group_id_for(rnd.campaign), escalated=rnd.escalated_at is not None,
    )  # fmt: skip


def decide_item(*, actor: Any, item_id: Any, verdict: str, reason: str = "", now: datetime | None = None) -> ReviewItem:
    """A reviewer certifies a grant or revokes it (a revocation needs a reason). Refused, and audited,
    for the holder of the grant (self-review), for anyone who is not the item's reviewer, after the
    deadline and for an item already answered."""
    now = _now(now)
    reason = (reason or "").strip()
    target = ("approvals.reviewitem", str(item_id)[:80], "")
    with (
        _audited_refusal(actor, Action.REVIEW_ITEM_DECISION_REFUSED, target, verdict=verdict),
        transaction.atomic(),
    ):
        item = _item_for_update(item_id)
        if getattr(actor, "pk", None) == item.holder_id:
            raise SelfReview("Nobody reviews their own access; another reviewer will decide.")
        if not may_review(actor, item):
            raise ReviewItemNotFound()
        if verdict not in (Verdict.CERTIFY, Verdict.REVOKE):
            raise ReviewInvalid("Certify or revoke.", field_errors={"verdict": ["Certify or revoke."]})
        if len(reason) > MAX_REASON:
            raise ReviewInvalid("The reason is too long.", field_errors={"reason": [f"At most {MAX_REASON}."]})
        if verdict == Verdict.REVOKE and len(reason) < MIN_REASON:
            raise ReviewInvalid(
                "Say why the access is no longer needed.", field_errors={"reason": ["A revocation needs a reason."]}
            )
        if item.outcome != ItemOutcome.PENDING:
            raise InvalidTransition("This item has been answered.")
        if not item.round.is_open or item.round.deadline <= now:
            raise InvalidTransition("This review has closed.")
        req = _lock(item.grant.request_id)
        item.decided_by, item.decided_at, item.reason = actor, now, reason
        details = {**_describe(req), "campaign": item.round.campaign.name, "round": item.round_id,
                   "grant": str(item.grant_id), "reason": reason}  # fmt: skip
        if req.state not in (R.APPROVED, R.ACTIVE):
            item.outcome = ItemOutcome.ENDED
            item.save()
            record(action=Action.REVIEW_ITEM_CERTIFIED, actor=actor, target=item,
                   details={**details, "ended_before": req.state})  # fmt: skip
            return item
        if verdict == Verdict.CERTIFY:
            item.outcome = ItemOutcome.CERTIFIED
            item.save()
            record(action=Action.REVIEW_ITEM_CERTIFIED, actor=actor, target=item, details=details)
        else:
            item.outcome = ItemOutcome.REVOKED
            item.save()
            record(action=Action.REVIEW_ITEM_REVOKED, actor=actor, target=item, details=details)
            _revoke(actor, req, f"removed by access review “{item.round.campaign.name}”: {reason}")
    return item


def close_round(round_id: Any, now: datetime | None = None) -> bool:
    """The deadline has passed: every unanswered item takes its default (kept, or revoked through the
    grant-removal path), and the round closes. Idempotent."""
    now = _now(now)
    with transaction.atomic():
        rnd = ReviewRound.objects.select_for_update().select_related("campaign").filter(pk=round_id).first()
        if rnd is None or rnd.closed_at is not None or rnd.deadline > now:
            return False
        counts = {"kept": 0, "revoked": 0, "ended": 0}
        pending = rnd.items.select_for_update(of=("self",)).select_related("grant").filter(outcome=ItemOutcome.PENDING)
        for item in pending:
            req = _lock(item.grant.request_id)
            item.decided_at = now
            if req.state not in (R.APPROVED, R.ACTIVE):
                item.outcome = ItemOutcome.ENDED
                counts["ended"] += 1
                item.save()
                continue
            revoke = item.on_no_answer == NoAnswer.REVOKE
            item.outcome = ItemOutcome.REVOKED_BY_DEFAULT if revoke else ItemOutcome.KEPT_BY_DEFAULT
            item.reason = "no answer by the deadline"
            item.save()
            record(
                action=Action.REVIEW_ITEM_DEFAULTED, target=item, system_actor=SYSTEM,
                details={**_describe(req), "campaign": rnd.campaign.name, "round": rnd.pk,
                         "grant": str(item.grant_id), "outcome": item.outcome},
            )  # fmt: skip
            if revoke:
                _revoke(None, req, f"removed by access review “{rnd.campaign.name}”: no answer by the deadline")
                counts["revoked"] += 1
            else:
                counts["kept"] += 1
        rnd.closed_at = now
        rnd.save(update_fields=["closed_at"])
        record(
            action=Action.ACCESS_REVIEW_CLOSED, target=rnd, system_actor=SYSTEM,
            details={"campaign": rnd.campaign.name, "round": rnd.pk, "defaults": counts},
        )  # fmt: skip
    return True


def _follow_up_round(round_id: Any, field: str, action: Action, kind: str, now: datetime) -> int:
    with transaction.atomic():
        rnd = ReviewRound.objects.select_for_update().select_related("campaign").get(pk=round_id)
        if rnd.closed_at is not None or getattr(rnd, field) is not None:
            return 0
        pending = rnd.items.filter(outcome=ItemOutcome.PENDING).count()
        setattr(rnd, field, now)
        rnd.save(update_fields=[field])
        if not pending:
            return 0
        details: dict[str, Any] = {"campaign": rnd.campaign.name, "round": rnd.pk, "pending": pending}
        if kind == "review_escalated":
            group = rnd.campaign.fallback_group
            details["fallback_group"] = group.name if group else permissions.fallback_group_name()
        record(action=action, target=rnd, system_actor=SYSTEM, details=details)
        dispatch.enqueue("send_review_notification", rnd.pk, kind)
    return 1


def run_reviews(now: datetime | None = None) -> dict[str, int]:
    """Beat: start due rounds, remind, escalate, and close rounds past their deadline."""
    now = _now(now)
    counts = {"started": 0, "reminded": 0, "escalated": 0, "closed": 0}
    due = ReviewCampaign.objects.filter(active=True, next_run_at__lte=now).values_list("pk", flat=True)
    for campaign_id in list(due):
        counts["started"] += start_round(campaign_id, now) is not None
    open_rounds = ReviewRound.objects.filter(closed_at__isnull=True)
    for round_id in list(open_rounds.filter(deadline__lte=now).values_list("pk", flat=True)):
        counts["closed"] += close_round(round_id, now)
    for rnd in open_rounds.filter(deadline__gt=now).filter(Q(reminded_at__isnull=True) | Q(escalated_at__isnull=True)):
        elapsed = (now - rnd.started_at) / (rnd.deadline - rnd.started_at)
        if elapsed >= ESCALATE_AT and rnd.escalated_at is None:
            counts["escalated"] += _follow_up_round(
                rnd.pk, "escalated_at", Action.ACCESS_REVIEW_ESCALATED, "review_escalated", now
            )
        if elapsed >= REMIND_AT and rnd.reminded_at is None:
            counts["reminded"] += _follow_up_round(
                rnd.pk, "reminded_at", Action.ACCESS_REVIEW_REMINDED, "review_reminder", now
            )
    return counts
