"""Access reviews: campaigns start rounds, reviewers certify or revoke, nobody reviews their own
access, unanswered items take their default at the deadline, and revocations are removed from the
cloud through the same path as any revocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from approvals import review_tasks, services, tasks
from approvals.exceptions import InvalidTransition, NotAllowed, ReviewInvalid, ReviewItemNotFound, SelfReview
from approvals.models import AccessRequest, Grant, GroupMembershipPeriod, ReviewCampaign, ReviewItem, ReviewRound
from approvals.services import reviews
from audit.models import AuditEvent
from tests.approvals.conftest import TaskQueue, make_dataset, make_user, make_workspace
from tests.approvals.fakes import FakeGrantBackend

pytestmark = pytest.mark.django_db
NOW = datetime.now(UTC).replace(microsecond=0)  # answers are checked against the real clock
APRIL = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _review_tasks_runnable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hand-run queue finds tasks on ``approvals.tasks``; the review tasks live beside it."""
    monkeypatch.setattr(tasks, "send_review_notification", review_tasks.send_review_notification, raising=False)


@pytest.fixture
def steward(db: Any) -> Any:
    return make_user(username="stella.steward", roles=["approver"])


def active_grant(user: Any, dataset: Any, approver: Any, queue: TaskQueue, hours: int = 48) -> Grant:
    ws = make_workspace(
        owner=user, state="running", data_classification="restricted",
        cloud_ref={"provider": "aws_sagemaker", "resource_name": f"enclave-{user.username}", "resource_id": "",
                   "extra": {}},
    )  # fmt: skip
    req = services.request_access(user, dataset, ws, "Quarterly model refresh for risk.", hours)
    services.approve_request(approver, req, "ok")
    if dataset.classification == "restricted":
        services.approve_request(make_user(username="second.approver", roles=["approver"]), req, "ok too")
    queue.run()
    grant = Grant.objects.get(request=req)
    assert grant.status == "applied"
    return grant


def campaign(admin: Any, **kw: Any) -> ReviewCampaign:
    values: dict[str, Any] = {"name": "Quarterly production data", "first_run_at": NOW}
    return reviews.create_campaign(actor=admin, **{**values, **kw})


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


@pytest.fixture
def world(
    scientist: Any, other_scientist: Any, approver: Any, steward: Any, catalog_admin: Any, queue: TaskQueue,
    fake_backend: FakeGrantBackend,
) -> Any:  # fmt: skip
    cards = make_dataset(slug="cards", name="Card transactions", classification="confidential", steward=steward)
    pii = make_dataset(slug="pii", name="Customer PII", classification="restricted", steward=steward)
    public = make_dataset(slug="branches", name="Branch list", classification="internal", steward=steward)
    grants = {
        "sam_cards": active_grant(scientist, cards, approver, queue),
        "olga_pii": active_grant(other_scientist, pii, approver, queue),
        "sam_branches": active_grant(scientist, public, approver, queue),
    }
    return grants


def started(admin: Any, **kw: Any) -> ReviewRound:
    c = campaign(admin, **kw)
    rnd = reviews.start_round(c.pk, NOW)
    assert rnd is not None
    return rnd


def test_a_round_reviews_every_active_grant_on_confidential_and_restricted_data(
    world: Any, catalog_admin: Any, steward: Any
) -> None:
    rnd = started(catalog_admin)
    items = {(i.grant_id, i.reviewer_id, i.on_no_answer) for i in rnd.items.all()}
    assert items == {
        (world["sam_cards"].pk, steward.pk, "revoke"),
        (world["olga_pii"].pk, steward.pk, "revoke"),
    }
    assert rnd.deadline == NOW + timedelta(days=14)
    assert events("access_review.started")[0].details["items"] == 2


def test_a_quarterly_campaign_schedules_its_next_round_three_months_on_and_starts_once(
    world: Any, catalog_admin: Any
) -> None:
    c = campaign(catalog_admin, recurrence="quarterly", first_run_at=APRIL)
    assert reviews.run_reviews(APRIL)["started"] == 1
    assert reviews.run_reviews(APRIL)["started"] == 0
    c.refresh_from_db()
    assert c.next_run_at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert ReviewRound.objects.filter(campaign=c).count() == 1


def test_a_campaign_on_chosen_datasets_reviews_only_those(world: Any, catalog_admin: Any) -> None:
    pii = world["olga_pii"].dataset
    rnd = started(catalog_admin, scope="chosen", datasets=[pii], recurrence="once")
    assert [i.grant_id for i in rnd.items.all()] == [world["olga_pii"].pk]
    assert ReviewCampaign.objects.get().next_run_at is None


def test_only_catalog_admins_define_campaigns_and_a_refusal_is_audited(world: Any, approver: Any) -> None:
    with pytest.raises(NotAllowed):
        campaign(approver)
    assert not ReviewCampaign.objects.exists()
    (refused,) = events("access_review.refused")
    assert refused.outcome == "denied"
    assert refused.actor_id == approver.pk


def test_a_chosen_scope_without_datasets_is_refused(world: Any, catalog_admin: Any) -> None:
    with pytest.raises(ReviewInvalid) as err:
        campaign(catalog_admin, scope="chosen")
    assert "datasets" in err.value.field_errors


def test_the_steward_revokes_a_grant_and_it_is_removed_from_the_cloud(
    world: Any, catalog_admin: Any, steward: Any, queue: TaskQueue, fake_backend: FakeGrantBackend
) -> None:
    rnd = started(catalog_admin)
    item = rnd.items.get(grant=world["sam_cards"])
    reviews.decide_item(actor=steward, item_id=item.pk, verdict="revoke", reason="Project finished in March.")
    queue.run()
    grant = Grant.objects.get(pk=world["sam_cards"].pk)
    assert grant.status == "removed"
    assert str(grant.pk) not in fake_backend.applied
    assert AccessRequest.objects.get(pk=grant.request_id).state == "revoked"
    item.refresh_from_db()
    assert (item.outcome, item.decided_by_id, item.reason) == ("revoked", steward.pk, "Project finished in March.")
    assert events("review_item.revoked")[0].actor_id == steward.pk
    revoked = events("grant.revoked")[0]
    assert revoked.actor_id == steward.pk
    assert "Quarterly production data" in revoked.details["reason"]


def test_the_steward_certifies_a_grant_and_it_stays(
    world: Any, catalog_admin: Any, steward: Any, queue: TaskQueue
) -> None:
    rnd = started(catalog_admin)
    item = rnd.items.get(grant=world["sam_cards"])
    reviews.decide_item(actor=steward, item_id=item.pk, verdict="certify", reason="Still on the fraud model.")
    queue.run()
    assert Grant.objects.get(pk=world["sam_cards"].pk).status == "applied"
    assert ReviewItem.objects.get(pk=item.pk).outcome == "certified"


def test_a_revocation_without_a_reason_is_refused(world: Any, catalog_admin: Any, steward: Any) -> None:
    item = started(catalog_admin).items.get(grant=world["sam_cards"])
    with pytest.raises(ReviewInvalid):
        reviews.decide_item(actor=steward, item_id=item.pk, verdict="revoke", reason="")
    assert ReviewItem.objects.get(pk=item.pk).outcome == "pending"


def test_nobody_reviews_their_own_access_and_the_attempt_is_audited(
    world: Any, catalog_admin: Any, scientist: Any
) -> None:
    Group.objects.get(name="approver").user_set.add(scientist)  # a scientist who is also an approver
    item = started(catalog_admin).items.get(grant=world["sam_cards"])
    with pytest.raises(SelfReview):
        reviews.decide_item(actor=scientist, item_id=item.pk, verdict="certify", reason="I still need it.")
    assert ReviewItem.objects.get(pk=item.pk).outcome == "pending"
    (refused,) = events("review_item.decision_refused")
    assert (refused.actor_id, refused.outcome, refused.target_id) == (scientist.pk, "denied", str(item.pk))
    assert "own access" in refused.details["reason"]


def test_a_steward_holding_a_grant_on_their_own_dataset_is_not_its_reviewer(
    catalog_admin: Any, approver: Any, queue: TaskQueue, fake_backend: FakeGrantBackend
) -> None:
    steward = make_user(username="sci.steward", roles=["data_scientist", "approver"])
    cards = make_dataset(slug="cards", classification="confidential", steward=steward)
    grant = active_grant(steward, cards, approver, queue)
    item = started(catalog_admin).items.get(grant=grant)
    assert item.reviewer_id is None
    with pytest.raises(SelfReview):
        reviews.decide_item(actor=steward, item_id=item.pk, verdict="certify", reason="Mine, still needed.")


def test_an_approver_who_is_not_the_reviewer_cannot_answer(world: Any, catalog_admin: Any, approver: Any) -> None:
    item = started(catalog_admin).items.get(grant=world["sam_cards"])
    with pytest.raises(ReviewItemNotFound):
        reviews.decide_item(actor=approver, item_id=item.pk, verdict="certify", reason="Looks fine to me.")
    assert events("review_item.decision_refused")[0].actor_id == approver.pk


def test_at_the_deadline_unanswered_items_take_their_default_and_restricted_data_is_revoked(
    world: Any, catalog_admin: Any, queue: TaskQueue, fake_backend: FakeGrantBackend
) -> None:
    rnd = started(catalog_admin, on_no_answer="keep")
    assert reviews.run_reviews(rnd.deadline - timedelta(seconds=1))["closed"] == 0
    assert reviews.run_reviews(rnd.deadline)["closed"] == 1
    queue.run()
    outcomes = {i.grant.dataset.slug: i.outcome for i in rnd.items.select_related("grant__dataset")}
    assert outcomes == {"cards": "kept_by_default", "pii": "revoked_by_default"}
    assert Grant.objects.get(pk=world["olga_pii"].pk).status == "removed"
    assert Grant.objects.get(pk=world["sam_cards"].pk).status == "applied"
    assert ReviewRound.objects.get(pk=rnd.pk).closed_at == rnd.deadline
    assert events("access_review.closed")[0].details["defaults"] == {"kept": 1, "revoked": 1, "ended": 0}


def test_an_answer_after_the_deadline_is_refused(world: Any, catalog_admin: Any, steward: Any) -> None:
    rnd = started(catalog_admin)
    item = rnd.items.get(grant=world["sam_cards"])
    with pytest.raises(InvalidTransition):
        reviews.decide_item(actor=steward, item_id=item.pk, verdict="certify", reason="Late.", now=rnd.deadline)


def test_reviewers_are_emailed_reminded_and_the_fallback_group_is_brought_in(
    world: Any, catalog_admin: Any, steward: Any, queue: TaskQueue
) -> None:
    fallback = Group.objects.create(name="review-fallback")
    backup = make_user(username="bob.backup", roles=["approver"])
    fallback.user_set.add(backup)
    rnd = started(catalog_admin, fallback_group=fallback)
    mail.outbox.clear()
    queue.run()
    assert [m.to for m in mail.outbox] == [[steward.email]]
    item = rnd.items.get(grant=world["sam_cards"])
    with pytest.raises(ReviewItemNotFound):  # not escalated yet: the steward decides
        reviews.decide_item(actor=backup, item_id=item.pk, verdict="certify", reason="Covering for Stella.")
    half = reviews.run_reviews(rnd.started_at + timedelta(days=7))
    assert half["reminded"] == 1
    assert half["escalated"] == 0
    mail.outbox.clear()
    queue.run()
    assert [m.to for m in mail.outbox] == [[steward.email]]
    late = reviews.run_reviews(rnd.started_at + timedelta(days=11))
    assert late["escalated"] == 1
    mail.outbox.clear()
    queue.run()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([steward.email, backup.email])
    reviews.decide_item(
        actor=backup, item_id=item.pk, verdict="certify", reason="Covering for Stella.",
        now=rnd.started_at + timedelta(days=12),
    )  # fmt: skip
    assert ReviewItem.objects.get(pk=item.pk).decided_by_id == backup.pk


def test_group_membership_changes_are_kept_as_periods(db: Any) -> None:
    user = make_user(username="mo.mover")
    group = Group.objects.create(name="risk-approvers")
    user.groups.add(group)
    (period,) = GroupMembershipPeriod.objects.filter(user=user, group=group)
    assert period.ended_at is None
    group.user_set.remove(user)
    period.refresh_from_db()
    assert period.ended_at is not None
    assert period.ended_at >= period.started_at
    user.groups.add(group)
    assert GroupMembershipPeriod.objects.filter(user=user, group=group).count() == 2
    user.groups.clear()
    assert not GroupMembershipPeriod.objects.filter(user=user, ended_at__isnull=True).exists()
