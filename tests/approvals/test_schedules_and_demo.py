"""Beat schedules and demo data are idempotent."""

from __future__ import annotations

from typing import Any

import pytest
from django_celery_beat.models import PeriodicTask

from approvals import demo, schedules
from approvals.exceptions import NotAllowed
from approvals.models import ApprovalPolicy, Dataset
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_ensure_schedules_is_idempotent() -> None:
    schedules.ensure_schedules()
    schedules.ensure_schedules()
    tasks = dict(PeriodicTask.objects.values_list("task", "interval__every"))
    assert tasks == {
        "approvals.expire_grants": 1,
        "approvals.follow_up_requests": 15,
        "approvals.run_access_reviews": 5,
    }


def test_seed_datasets_creates_the_two_demo_datasets_once(catalog_admin: Any) -> None:
    first = demo.seed_datasets(catalog_admin)
    second = demo.seed_datasets(catalog_admin)
    assert [d.pk for d in first] == [d.pk for d in second]
    cards, pii = first
    assert (cards.name, cards.classification, cards.location) == (
        "Card transactions 2025", "confidential", "s3://enclave-demo-data/cards/2025/",
    )  # fmt: skip
    assert (pii.name, pii.classification) == ("Customer PII master", "restricted")
    assert pii.policy.required_for(pii.classification) == 2
    assert Dataset.objects.count() == 2
    assert ApprovalPolicy.objects.count() == 2
    assert AuditEvent.objects.filter(action="dataset.created").count() == 2


def test_seed_datasets_needs_a_catalog_admin(scientist: Any) -> None:
    with pytest.raises(NotAllowed):
        demo.seed_datasets(scientist)
