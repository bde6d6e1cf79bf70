"""The approval engine's rules, through the services, with a fake grant backend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone

from approvals import services
from approvals.exceptions import AlreadyDecided, InvalidTransition, NotAllowed, RequestInvalid, RequestNotFound
from approvals.models import AccessRequest, Decision, Grant, GrantStatus
from audit.models import AuditEvent
from tests.approvals.conftest import TaskQueue, make_dataset, make_user, make_workspace
from tests.approvals.fakes import FakeGrantBackend
from tests.factories import ApprovalPolicyFactory
from workspaces.backends.base import CloudRef, DataGrantSpec, InvalidCloudRequest, TransientCloudError

pytestmark = pytest.mark.django_db


def events(action: str, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters))


# --- requesting ------------------------------------------------------------------------------------------------


def test_scientist_requests_access_and_approvers_are_emailed(
    scientist: Any, workspace: Any, dataset: Any, approver: Any, queue: TaskQueue
) -> None:
    req = services.request_access(scientist, dataset, workspace, "Fraud model retraining for Q3.", 8)
    queue.run()
    assert req.state == "pending"
    assert req.approvals_required == 1
    assert events("access_request.requested", target_id=str(req.pk))[0].details["duration_hours"] == 8
    assert [m.to for m in mail.outbox] == [[approver.email]]
    assert "/access/review/" in mail.outbox[0].body


def test_request_longer_than_the_policy_allows_is_refused_and_audited(
    scientist: Any, workspace: Any, dataset: Any, queue: TaskQueue
) -> None:
    with pytest.raises(RequestInvalid) as info:
        services.request_access(scientist, dataset, workspace, "Fraud model retraining for Q3.", 10_000)
    assert "duration_hours" in info.value.field_errors
    assert not AccessRequest.objects.exists()
    assert events("access_request.request_refused")[0].outcome == "denied"


def test_justification_is_required_when_the_policy_says_so(
    scientist: Any, workspace: Any, dataset: Any, queue: TaskQueue
) -> None:
    with pytest.raises(RequestInvalid) as info:
        services.request_access(scientist, dataset, workspace, "", 8)
    assert "justification" in info.value.field_errors


def test_request_for_someone_elses_workspace_is_refused(
    scientist: Any, other_scientist: Any, dataset: Any, queue: TaskQueue
) -> None:
    theirs = make_workspace(owner=other_scientist, state="running", cloud_ref={"provider": "aws_sagemaker"})
    with pytest.raises(RequestInvalid) as info:
        services.request_access(scientist, dataset, theirs, "Fraud model retraining for Q3.", 8)
    assert "workspace" in info.value.field_errors


def test_workspace_classified_below_the_dataset_cannot_receive_it(
    scientist: Any, restricted_dataset: Any, queue: TaskQueue
) -> None:
    internal = make_workspace(
        owner=scientist, state="running", data_classification="internal", cloud_ref={"provider": "aws_sagemaker"}
    )
    with pytest.raises(RequestInvalid) as info:
        services.request_access(scientist, restricted_dataset, internal, "Fraud model retraining for Q3.", 8)
    assert "classified internal" in info.value.field_errors["workspace"][0]


def test_a_second_open_request_for_the_same_dataset_and_workspace_is_refused(
    pending: Any, scientist: Any, workspace: Any, dataset: Any, queue: TaskQueue
) -> None:
    with pytest.raises(AlreadyDecided):
        services.request_access(scientist, dataset, workspace, "Fraud model retraining for Q3.", 8)


def test_approvers_cannot_request_data(approver: Any, dataset: Any, queue: TaskQueue) -> None:
    with pytest.raises(NotAllowed):
        services.request_access(approver, dataset, None, "I want it.", 8)


# --- deciding ------------------------------------------------------------------------------------------------------


def test_requester_cannot_approve_own_request_even_as_approver(
    workspace: Any, dataset: Any, scientist: Any, queue: TaskQueue
) -> None:
    scientist.groups.add(Group.objects.get(name="approver"))
    req = services.request_access(scientist, dataset, workspace, "Fraud model retraining for Q3.", 8)
    with pytest.raises(NotAllowed, match="your own request"):
        services.approve_request(scientist, req)
    req.refresh_from_db()
    assert req.state == "pending"
    assert not Decision.objects.exists()
    refusal = events("access_request.decision_refused", target_id=str(req.pk))
    assert refusal[0].outcome == "denied"
    assert "own request" in refusal[0].details["reason"]


def test_approver_outside_the_policy_group_cannot_decide(pending: Any, queue: TaskQueue) -> None:
    outsider = make_user(username="out.sider", roles=["approver"])
    pending.approver_group = Group.objects.create(name="card-data-owners")
    pending.save()
    with pytest.raises(NotAllowed):
        services.approve_request(outsider, pending)
    assert AccessRequest.objects.get(pk=pending.pk).state == "pending"
    assert events("access_request.decision_refused")[0].actor_label == "out.sider"


def test_member_of_the_group_without_the_approver_role_cannot_decide(pending: Any, queue: TaskQueue) -> None:
    pending.approver_group = Group.objects.create(name="card-data-owners")
    pending.save()
    member = make_user(username="grp.member", roles=["data_scientist"])
    member.groups.add(pending.approver_group)
    with pytest.raises(NotAllowed):
        services.approve_request(member, pending)


def test_one_approval_approves_and_the_grant_becomes_active(
    pending: Any, approver: Any, queue: TaskQueue, fake_backend: FakeGrantBackend
) -> None:
    req = services.approve_request(approver, pending, "Fine for Q3.")
    assert req.state == "approved"
    queue.run()
    req.refresh_from_db()
    grant = Grant.objects.get(request=req)
    assert req.state == "active"
    assert grant.status == GrantStatus.APPLIED
    assert fake_backend.applied[str(grant.pk)]["location"] == "s3://enclave-test-data/cards/"
    applied = events("grant.applied", target_id=str(grant.pk))[0]
    assert applied.details["applied"]["details"]["policy_name"] == f"enclave-grant-{grant.pk}"
    assert req.decided_at is not None
    assert abs(grant.expires_at - (req.decided_at + timedelta(hours=8))) < timedelta(seconds=1)


def test_a_decided_request_cannot_be_decided_again(
    pending: Any, approver: Any, second_approver: Any, queue: TaskQueue
) -> None:
    services.approve_request(approver, pending)
    with pytest.raises(AlreadyDecided):
        services.deny_request(second_approver, pending, "Too late, but no.")
    assert Decision.objects.filter(request=pending).count() == 1


def test_deny_needs_a_comment(pending: Any, approver: Any, queue: TaskQueue) -> None:
    with pytest.raises(RequestInvalid):
        services.deny_request(approver, pending, "  ")
    assert AccessRequest.objects.get(pk=pending.pk).state == "pending"


def test_denied_request_applies_nothing_and_tells_the_requester(
    pending: Any, approver: Any, scientist: Any, queue: TaskQueue, fake_backend: FakeGrantBackend
) -> None:
    req = services.deny_request(approver, pending, "Use the aggregated mart instead.")
    queue.run()
    assert req.state == "denied"
    assert not Grant.objects.exists()
    assert fake_backend.calls == []
    assert mail.outbox[-1].to == [scientist.email]
    assert "Use the aggregated mart instead." in mail.outbox[-1].body


def test_restricted_data_needs_two_distinct_approvers(
    scientist: Any, workspace: Any, restricted_dataset: Any, approver: Any, second_approver: Any, queue: TaskQueue
) -> None:
    req = services.request_access(scientist, restricted_dataset, workspace, "KYC remediation project.", 4)
    assert req.approvals_required == 2
    assert services.approve_request(approver, req).state == "pending"
    with pytest.raises(AlreadyDecided):
        services.approve_request(approver, req)  # the same person twice is not two people
    assert services.approve_request(second_approver, req).state == "approved"
    assert Grant.objects.filter(request=req).count() == 1
    assert events("access_request.approved")[0].details["approvers"] == ["alex.approver", "bea.approver"]


def test_second_stage_decides_only_after_the_first(
    scientist: Any, workspace: Any, approver: Any, second_approver: Any, queue: TaskQueue
) -> None:
    owners, risk = Group.objects.create(name="card-data-owners"), Group.objects.create(name="risk")
    approver.groups.add(owners)
    second_approver.groups.add(risk)
    policy = ApprovalPolicyFactory(
        name="Two stages", approver_group=owners, second_stage_group=risk, second_stage_approvals=1
    )
    ds = make_dataset(slug="staged", policy=policy)
    req = services.request_access(scientist, ds, workspace, "Liquidity stress testing.", 4)
    with pytest.raises(NotAllowed):
        services.approve_request(second_approver, req)  # stage one first
    assert services.approve_request(approver, req).state == "pending"
    assert services.approve_request(second_approver, req).state == "approved"
    assert list(Decision.objects.filter(request=req).values_list("stage", flat=True)) == [1, 2]


def test_policy_changes_do_not_change_an_open_request(pending: Any, approver: Any, queue: TaskQueue) -> None:
    policy = pending.policy
    policy.approvals_required = 3
    policy.save()
    assert services.approve_request(approver, pending).state == "approved"


# --- the grant in the cloud ---------------------------------------------------------------------------------------


def test_apply_failure_is_shown_and_retried_until_it_succeeds(
    pending: Any, approver: Any, queue: TaskQueue, fake_backend: FakeGrantBackend
) -> None:
    fake_backend.fail_next("grant_data_access", TransientCloudError("IAM is throttling us."), times=2)
    services.approve_request(approver, pending)
    queue.run()
    grant = Grant.objects.get(request=pending)
    assert grant.status == GrantStatus.APPLIED
    assert grant.attempts == 3
    assert len(events("grant.apply_failed", target_id=str(grant.pk))) == 2
    assert AccessRequest.objects.get(pk=pending.pk).state == "active"


def test_permanent_apply_failure_leaves_the_request_approved_not_active(
    pending: Any, approver: Any, queue: TaskQueue, fake_backend: FakeGrantBackend
) -> None:
    fake_backend.fail_next("grant_data_access", InvalidCloudRequest("The role does not exist."))
    services.approve_request(approver, pending)
    queue.run()
    grant = Grant.objects.get(request=pending)
    assert grant.status == GrantStatus.APPLY_FAILED
    assert grant.last_error == "The role does not exist."
    assert AccessRequest.objects.get(pk=pending.pk).state == "approved"
    assert events("grant.apply_failed")[0].details["will_retry"] is False


def test_expiry_task_removes_the_grant_and_expires_the_request(
    pending: Any, approver: Any, queue: TaskQueue, fake_backend: FakeGrantBackend
) -> None:
    services.approve_request(approver, pending)
    queue.run()
    grant = Grant.objects.get(request=pending)
    from approvals.tasks import expire_grants

    assert expire_grants((grant.expires_at - timedelta(minutes=1)).isoformat()) == {"expired": 0, "retried": 0}
    assert expire_grants((grant.expires_at + timedelta(seconds=1)).isoformat())["expired"] == 1
    queue.run()
    grant.refresh_from_db()
    assert AccessRequest.objects.get(pk=pending.pk).state == "expired"
    assert grant.status == GrantStatus.REMOVED
    assert fake_backend.applied == {}
    assert events("grant.expired", target_id=str(grant.pk))
    assert events("grant.removed", target_id=str(grant.pk))[0].details["removed"]["grant_id"] == str(grant.pk)


def test_a_late_apply_after_revocation_removes_what_it_applied(
    pending: Any, approver: Any, queue: TaskQueue, fake_backend: FakeGrantBackend
) -> None:
    services.approve_request(approver, pending)
    grant = Grant.objects.get(request=pending)
    spec = DataGrantSpec(grant_id=str(grant.pk), dataset_slug="cards", location="s3://x/", expires_at=grant.expires_at)
    ref = fake_backend.grant_data_access(CloudRef.from_json(pending.workspace.cloud_ref), spec)  # the apply task, slow
    services.revoke_grant(approver, pending, "Wrong workspace.")
    assert services.record_grant_applied(grant.pk, ref) is False  # the apply task finishing late
    queue.run(only="remove_grant")
    assert fake_backend.applied == {}
    assert AccessRequest.objects.get(pk=pending.pk).state == "revoked"


def test_requester_gives_back_an_active_grant(
    pending: Any, approver: Any, scientist: Any, queue: TaskQueue, fake_backend: FakeGrantBackend
) -> None:
    services.approve_request(approver, pending)
    queue.run()
    req = services.withdraw_request(scientist, pending)
    queue.run()
    assert req.state == "revoked"
    assert Grant.objects.get(request=pending).status == GrantStatus.REMOVED
    assert fake_backend.applied == {}
    assert events("grant.revoked")[0].details["reason"] == "given back by the requester"


def test_requester_withdraws_a_pending_request(pending: Any, scientist: Any, queue: TaskQueue) -> None:
    assert services.withdraw_request(scientist, pending).state == "withdrawn"
    assert events("access_request.withdrawn", target_id=str(pending.pk))


def test_nobody_else_can_withdraw_a_request(pending: Any, other_scientist: Any, queue: TaskQueue) -> None:
    with pytest.raises(RequestNotFound):
        services.withdraw_request(other_scientist, pending)
    assert AccessRequest.objects.get(pk=pending.pk).state == "pending"
    assert events("access.denied")[0].actor_label == "olga.other"


def test_catalog_admin_revokes_an_active_grant(
    pending: Any, approver: Any, catalog_admin: Any, queue: TaskQueue, fake_backend: FakeGrantBackend
) -> None:
    services.approve_request(approver, pending)
    queue.run()
    services.revoke_grant(catalog_admin, pending, "Incident 4711.")
    queue.run()
    assert AccessRequest.objects.get(pk=pending.pk).state == "revoked"
    assert fake_backend.applied == {}


def test_revoking_a_pending_request_is_refused(pending: Any, catalog_admin: Any, queue: TaskQueue) -> None:
    with pytest.raises(InvalidTransition):
        services.revoke_grant(catalog_admin, pending)


# --- follow-ups -----------------------------------------------------------------------------------------------------


def test_follow_up_reminds_escalates_and_times_out_once_each(
    settings: Any, pending: Any, approver: Any, scientist: Any, queue: TaskQueue
) -> None:
    settings.ENCLAVE_APPROVAL_REMIND_AFTER_HOURS = 1
    settings.ENCLAVE_APPROVAL_ESCALATE_AFTER_HOURS = 2
    settings.ENCLAVE_APPROVAL_TIMEOUT_HOURS = 3
    fallback = make_user(username="fall.back", roles=["approver"])
    fallback.groups.add(Group.objects.create(name=settings.ENCLAVE_APPROVAL_FALLBACK_GROUP))
    start = pending.created_at
    assert services.follow_up(start + timedelta(minutes=90))["reminded"] == 1
    assert services.follow_up(start + timedelta(minutes=100))["reminded"] == 0
    assert services.follow_up(start + timedelta(minutes=150))["escalated"] == 1
    queue.run()
    assert {tuple(m.to) for m in mail.outbox} == {(approver.email,), (fallback.email,)}
    assert "Escalated" in mail.outbox[-1].subject
    assert services.follow_up(start + timedelta(hours=4))["timed_out"] == 1
    queue.run()
    assert AccessRequest.objects.get(pk=pending.pk).state == "timed_out"
    assert mail.outbox[-1].to == [scientist.email]
    assert [e.action for e in AuditEvent.objects.filter(target_id=str(pending.pk)).order_by("seq")][-3:] == [
        "access_request.reminded", "access_request.escalated", "access_request.timed_out",
    ]  # fmt: skip


def test_fallback_group_may_decide_once_escalated(settings: Any, pending: Any, queue: TaskQueue) -> None:
    pending.approver_group = Group.objects.create(name="card-data-owners")
    pending.save()
    fallback = make_user(username="fall.back", roles=["approver"])
    fallback.groups.add(Group.objects.create(name=settings.ENCLAVE_APPROVAL_FALLBACK_GROUP))
    with pytest.raises(NotAllowed):
        services.approve_request(fallback, pending)
    services.follow_up(pending.created_at + timedelta(hours=settings.ENCLAVE_APPROVAL_ESCALATE_AFTER_HOURS + 1))
    assert services.approve_request(fallback, pending).state == "approved"


def test_grant_expiry_warning_is_sent_once(
    settings: Any, pending: Any, approver: Any, scientist: Any, queue: TaskQueue, fake_backend: FakeGrantBackend
) -> None:
    services.approve_request(approver, pending)
    queue.run()
    mail.outbox.clear()
    grant = Grant.objects.get(request=pending)
    soon = grant.expires_at - timedelta(hours=settings.ENCLAVE_GRANT_EXPIRY_WARNING_HOURS - 1)
    assert services.follow_up(soon)["warned"] == 1
    assert services.follow_up(soon)["warned"] == 0
    queue.run()
    assert [m.to for m in mail.outbox] == [[scientist.email]]
    assert "Expiring soon" in mail.outbox[0].subject


def test_every_step_of_a_grant_is_audited_in_order(
    pending: Any, approver: Any, queue: TaskQueue, fake_backend: FakeGrantBackend
) -> None:
    services.approve_request(approver, pending, "ok")
    queue.run()
    services.expire_grant(pending.pk, timezone.now() + timedelta(hours=9))
    queue.run()
    grant = Grant.objects.get(request=pending)
    trail = AuditEvent.objects.filter(target_id__in=[str(pending.pk), str(grant.pk)]).order_by("seq")
    assert [e.action for e in trail] == [
        "access_request.requested", "access_request.approval_recorded", "access_request.approved",
        "grant.applied", "grant.expired", "grant.removed",
    ]  # fmt: skip
