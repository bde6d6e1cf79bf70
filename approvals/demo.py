"""Demo data for data access: two datasets with their policies, created idempotently."""

from __future__ import annotations

from typing import Any

from approvals import services
from approvals.models import ApprovalPolicy, Dataset
from catalog.models import Classification
from catalog.providers import Provider
from core.roles import Role, role_group

DEMO_DATASETS = (
    {
        "slug": "card-transactions-2025",
        "name": "Card transactions 2025",
        "description": "Every card authorisation and settlement of 2025, pseudonymised card numbers.",
        "classification": Classification.CONFIDENTIAL,
        "provider": Provider.AWS_SAGEMAKER,
        "location": "s3://enclave-demo-data/cards/2025/",
        "policy": {
            "name": "Confidential data (one approver, 7 days)",
            "approvals_required": 1, "max_duration_hours": 168, "justification_required": True,
            "two_person_rule": True,
        },
    },
    {
        "slug": "customer-pii-master",
        "name": "Customer PII master",
        "description": "The customer master with names, addresses and identifiers. Two-person rule applies.",
        "classification": Classification.RESTRICTED,
        "provider": Provider.AWS_SAGEMAKER,
        "location": "s3://enclave-demo-data/customers/pii/",
        "policy": {
            "name": "Restricted data (two-person rule, 24 hours)",
            "approvals_required": 2, "max_duration_hours": 24, "justification_required": True,
            "two_person_rule": True,
        },
    },
)  # fmt: skip


def seed_datasets(admin_user: Any) -> list[Dataset]:
    """Create the demo datasets and their policies as ``admin_user`` (a catalog admin); a second
    run changes nothing (and records nothing)."""
    approvers = role_group(Role.APPROVER)
    out = []
    for spec in DEMO_DATASETS:
        policy_spec: dict[str, Any] = dict(spec["policy"])  # type: ignore[call-overload, arg-type]
        policy = ApprovalPolicy.objects.filter(name=policy_spec["name"]).first()
        if policy is None:
            policy = services.create_policy(admin_user, approver_group=approvers, **policy_spec)
        dataset = Dataset.objects.filter(slug=spec["slug"]).first()
        if dataset is None:
            values = {k: v for k, v in spec.items() if k != "policy"}
            dataset = services.create_dataset(admin_user, policy=policy, **values)
        out.append(dataset)
    return out
