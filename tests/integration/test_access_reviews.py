"""Access reviews end to end: a real Celery worker over Redis and PostgreSQL runs the beat task that
starts a quarterly campaign's round on schedule and closes it at the deadline; revocations — chosen by
the steward or by default — are removed in the cloud stand-ins (the grant's policy gone from the
workspace role on AWS, the role assignment gone on Azure) and audited. The worker is another process,
so the sweep is given its ``now`` instead of sharing a frozen clock."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from approvals import services
from approvals.exceptions import SelfReview
from approvals.models import AccessRequest, Grant, ReviewCampaign, ReviewItem, ReviewRound
from approvals.review_tasks import run_access_reviews
from approvals.services import reviews
from audit.models import AuditEvent
from tests.approvals.conftest import make_dataset, make_user, make_workspace
from tests.factories import azureml_spec
from tests.fixtures.celery_worker import wait_for
from tests.integration.test_grants import AZURE_SCOPE, AZURE_SUBSCRIPTION, TRUST, assignments
from workspaces import services as workspace_services
from workspaces.backends.azureml import AzureMLBackend

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture
def review_worker(aws_stand_in: Any, fake_arm: Any, celery_worker: Any) -> Any:
    """The session's worker, started after (so pointed at) this session's AWS stand-in and fake ARM."""
    return celery_worker


def role_policies(clean_aws: Any, role: str) -> list[str]:
    return list(clean_aws.iam.list_role_policies(RoleName=role)["PolicyNames"])


def active(req: AccessRequest, worker: Any) -> Grant:
    wait_for(
        lambda: AccessRequest.objects.filter(pk=req.pk, state="active").exists(), timeout=60,
        what=f"the grant to be active\n{worker.log()[-3000:]}",
    )  # fmt: skip
    return Grant.objects.get(request=req)


def start_on_schedule(admin: Any, worker: Any) -> ReviewRound:
    """Define a quarterly campaign due now and let the worker's beat task start its round."""
    due = timezone.now()
    campaign = reviews.create_campaign(actor=admin, name="Quarterly production data", first_run_at=due)
    run_access_reviews.delay((due + timedelta(seconds=1)).isoformat())
    wait_for(
        lambda: ReviewRound.objects.filter(campaign=campaign).exists(), timeout=60,
        what=f"the round to start\n{worker.log()[-3000:]}",
    )  # fmt: skip
    campaign.refresh_from_db()
    assert campaign.recurrence == "quarterly"
    assert campaign.next_run_at is not None
    assert campaign.next_run_at > due + timedelta(days=85)
    return ReviewRound.objects.get(campaign=campaign)


@pytest.fixture
def aws_world(transactional_db: Any, clean_aws: Any) -> Any:
    steward = make_user(username="int.steward", roles=["approver"])
    approver = make_user(username="int.approver", roles=["approver"])
    admin = make_user(username="int.admin", roles=["catalog_admin"])
    cards = make_dataset(slug="cards-2025", classification="confidential", steward=steward,
                         location="s3://enclave-demo-data/cards/2025/")  # fmt: skip
    requests = []
    for name in ("int.sam", "int.olga"):
        user = make_user(
            username=name, roles=["data_scientist", "approver"] if name == "int.sam" else ["data_scientist"]
        )
        role = f"enclave-{name.replace('.', '')}-role"
        clean_aws.iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
        ws = make_workspace(
            owner=user, state="running", data_classification="confidential",
            cloud_ref={"provider": "aws_sagemaker", "resource_name": f"enclave-{name.replace('.', '')}",
                       "resource_id": "", "extra": {}},
        )  # fmt: skip
        requests.append(services.request_access(user, cards, ws, "Fraud model retraining for Q3.", 48))
    return steward, approver, admin, requests


def test_a_quarterly_review_revokes_by_answer_and_by_default_and_the_policies_leave_the_roles(
    aws_world: Any, review_worker: Any, clean_aws: Any
) -> None:
    steward, approver, admin, (sam_req, olga_req) = aws_world
    for req in (sam_req, olga_req):
        services.approve_request(approver, req, "Fine for Q3.")
    sam_grant, olga_grant = active(sam_req, review_worker), active(olga_req, review_worker)
    assert role_policies(clean_aws, "enclave-intsam-role") == [f"enclave-grant-{sam_grant.pk}"]
    assert role_policies(clean_aws, "enclave-intolga-role") == [f"enclave-grant-{olga_grant.pk}"]

    rnd = start_on_schedule(admin, review_worker)
    sam_item, olga_item = (ReviewItem.objects.get(round=rnd, grant=g) for g in (sam_grant, olga_grant))

    # sam holds the approver role too, but nobody reviews their own access: refused and audited
    with pytest.raises(SelfReview):
        reviews.decide_item(actor=sam_req.requester, item_id=sam_item.pk, verdict="certify", reason="Still needed.")
    refused = AuditEvent.objects.get(action="review_item.decision_refused", target_id=str(sam_item.pk))
    assert (refused.actor_id, refused.outcome) == (sam_req.requester_id, "denied")

    # the steward revokes sam's grant: the policy leaves sam's workspace role
    reviews.decide_item(actor=steward, item_id=sam_item.pk, verdict="revoke", reason="Project finished.")
    wait_for(lambda: role_policies(clean_aws, "enclave-intsam-role") == [], timeout=60, what="sam's policy removed")
    wait_for(lambda: Grant.objects.filter(pk=sam_grant.pk, status="removed").exists(), what="sam's grant removed")
    assert role_policies(clean_aws, "enclave-intolga-role") == [f"enclave-grant-{olga_grant.pk}"]

    # nobody answers for olga: at the deadline the worker's sweep revokes it by default
    run_access_reviews.delay((rnd.deadline + timedelta(seconds=1)).isoformat())
    wait_for(lambda: role_policies(clean_aws, "enclave-intolga-role") == [], timeout=60, what="olga's policy removed")
    wait_for(lambda: Grant.objects.filter(pk=olga_grant.pk, status="removed").exists(), what="olga's grant removed")
    assert ReviewItem.objects.get(pk=olga_item.pk).outcome == "revoked_by_default"
    assert ReviewRound.objects.get(pk=rnd.pk).closed_at is not None
    trail = list(
        AuditEvent.objects.filter(target_id__in=[str(olga_req.pk), str(olga_grant.pk), str(olga_item.pk)])
        .order_by("seq").values_list("action", flat=True)
    )  # fmt: skip
    assert trail[-3:] == ["review_item.defaulted", "grant.revoked", "grant.removed"]
    assert ReviewCampaign.objects.get().rounds.count() == 1


@pytest.fixture
def azure_world(transactional_db: Any, azure_backend: AzureMLBackend) -> Any:
    steward = make_user(username="int.az.steward", roles=["approver"])
    approver = make_user(username="int.az.approver", roles=["approver"])
    admin = make_user(username="int.az.admin", roles=["catalog_admin"])
    scientist = make_user(username="int.az.scientist", roles=["data_scientist"])
    ws = make_workspace(
        owner=scientist, state="running", data_classification="confidential",
        template_version__template__provider="azure_ml",
        template_version__spec=azureml_spec(subscription_id=AZURE_SUBSCRIPTION),
    )  # fmt: skip
    ref = azure_backend.provision(workspace_services.build_spec(ws))
    ws.cloud_ref = ref.to_json()
    ws.save(update_fields=["cloud_ref"])
    dataset = make_dataset(slug="cards-2025-azure", provider="azure_ml", location=AZURE_SCOPE, steward=steward)
    req = services.request_access(scientist, dataset, ws, "Fraud model retraining for Q3.", 48)
    return steward, approver, admin, req


def test_a_review_revocation_removes_the_azure_role_assignment(
    azure_world: Any, review_worker: Any, clean_fake_arm: Any
) -> None:
    steward, approver, admin, req = azure_world
    services.approve_request(approver, req, "Fine for Q3.")
    grant = active(req, review_worker)
    assert len(assignments(clean_fake_arm)) == 1

    rnd = start_on_schedule(admin, review_worker)
    item = ReviewItem.objects.get(round=rnd, grant=grant)
    reviews.decide_item(actor=steward, item_id=item.pk, verdict="revoke", reason="Project finished.")
    wait_for(lambda: not assignments(clean_fake_arm), timeout=60, what="the role assignment removed")
    wait_for(lambda: Grant.objects.filter(pk=grant.pk, status="removed").exists(), what="the grant marked removed")
    assert clean_fake_arm.requests(method="DELETE", path_contains=grant.grant_ref["details"]["assignment_name"])
