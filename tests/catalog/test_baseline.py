"""The organisation baseline: every rule refuses a breaking version at publication, for both providers."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from catalog import services
from catalog.baseline import DEFAULT_BASELINE, Rule, check
from catalog.models import BaselinePolicy, VersionStatus
from catalog.specs import parse_spec
from tests.factories import azureml_spec, sagemaker_spec

AWS, AZURE = "aws_sagemaker", "azure_ml"

CASES = [
    (AWS, {"direct_internet_access": "Enabled"}, Rule.INTERNET, "Direct internet access must be Disabled."),
    (AWS, {"root_access": "Enabled"}, Rule.ROOT, "Root access must be Disabled."),
    (AWS, {"kms_key_id": ""}, Rule.ENCRYPTION, "A customer-managed KMS key is required"),
    (AWS, {"idle_stop_minutes": 240}, Rule.IDLE, "Idle shutdown is 240 minutes; the baseline allows at most 120"),
    (AWS, {"mandatory_tags": {"environment": "x"}}, Rule.TAGS, "Mandatory tag keys are missing: business-unit."),
    (AWS, {"allowed_instance_types": ["ml.t3.medium", "ml.p3.16xlarge"]}, Rule.SIZES,
     "Not in the baseline's allow-list: ml.p3.16xlarge."),
    (AWS, {"volume_size_gb_max": 500}, Rule.VOLUME, "The largest volume is 500 GB; the baseline ceiling is 200 GB."),
    (AZURE, {"enable_node_public_ip": True}, Rule.INTERNET, "The compute node must not have a public IP."),
    (AZURE, {"ssh_public_access": "Enabled"}, Rule.ROOT, "Public SSH access must be Disabled."),
    (AZURE, {"customer_managed_key_id": ""}, Rule.ENCRYPTION, "A customer-managed key is required"),
    (AZURE, {"idle_shutdown_minutes": 240}, Rule.IDLE, "Idle shutdown is 240 minutes; the baseline allows at most 120"),
    (AZURE, {"mandatory_tags": {}}, Rule.TAGS, "Mandatory tag keys are missing: environment, business-unit."),
    (AZURE, {"allowed_vm_sizes": ["Standard_DS3_v2", "Standard_ND96asr_v4"]}, Rule.SIZES,
     "Not in the baseline's allow-list: Standard_ND96asr_v4."),
]  # fmt: skip


def _spec(provider: str, **overrides: Any) -> dict[str, Any]:
    return sagemaker_spec(**overrides) if provider == AWS else azureml_spec(**overrides)


def _draft(admin: Any, provider: str, spec: dict[str, Any]) -> Any:
    return services.create_template(
        admin,
        slug=f"t-{provider.replace('_', '-')}",
        provider=provider,
        spec=spec,
        name="T",
        description="d",
        classifications=["internal"],
    )


@pytest.mark.parametrize(("provider", "overrides", "rule", "message"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_publishing_a_version_that_breaks_a_baseline_rule_is_refused_with_its_message(
    catalog_admin: Any, provider: str, overrides: dict[str, Any], rule: str, message: str
) -> None:
    draft = _draft(catalog_admin, provider, _spec(provider, **overrides))

    with pytest.raises(services.BaselineViolation) as refused:
        services.publish_version(catalog_admin, draft)

    assert [v.rule for v in refused.value.violations] == [rule]
    assert message in refused.value.message
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT
    event = AuditEvent.objects.filter(action="template_version.publish_refused").get()
    assert event.outcome == "denied"
    assert event.details["violations"][0]["rule"] == rule
    assert message in event.details["violations"][0]["message"]


@pytest.mark.parametrize("provider", [AWS, AZURE])
def test_a_compliant_version_passes_every_rule(db: Any, provider: str) -> None:
    policy = BaselinePolicy(version=0, **DEFAULT_BASELINE)
    assert check(parse_spec(provider, _spec(provider)), policy) == []


def test_every_violation_is_listed_when_a_version_breaks_several_rules(catalog_admin: Any) -> None:
    breaking: dict[str, Any] = {}
    for provider, overrides, _, _ in CASES:
        if provider == AWS:
            breaking.update(overrides)  # type: ignore[call-overload]
    draft = _draft(catalog_admin, AWS, _spec(AWS, **breaking))

    with pytest.raises(services.BaselineViolation) as refused:
        services.publish_version(catalog_admin, draft)

    assert {v.rule for v in refused.value.violations} == {c[2] for c in CASES if c[0] == AWS}
    assert len(refused.value.violations) == 7


def test_a_version_is_checked_against_the_latest_baseline_version(catalog_admin: Any) -> None:
    services.change_baseline(catalog_admin, max_idle_minutes=30, change_note="Tighter idle policy")
    draft = _draft(catalog_admin, AWS, _spec(AWS, idle_stop_minutes=60))

    with pytest.raises(services.BaselineViolation) as refused:
        services.publish_version(catalog_admin, draft)

    assert "at most 30 minutes" in refused.value.message
