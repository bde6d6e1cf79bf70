"""Catalog services: template versions' lifecycle, immutability, audit, baseline/price/quota changes."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from catalog import selectors, services
from catalog.models import BaselinePolicy, ImmutableVersionError, InstancePrice, TemplateVersion, VersionStatus
from core.errors import PermissionDeniedError
from tests.factories import TemplateVersionFactory, UserFactory, sagemaker_spec
from workspaces.models import Workspace


def _create(admin: Any, slug: str = "python", **spec_overrides: Any) -> TemplateVersion:
    return services.create_template(
        admin,
        slug=slug,
        provider="aws_sagemaker",
        spec=sagemaker_spec(**spec_overrides),
        name="Python notebook",
        description="Everyday analysis.",
        classifications=["internal"],
    )


def _published(admin: Any, slug: str = "python") -> TemplateVersion:
    return services.publish_version(admin, _create(admin, slug))


def _workspace(version: TemplateVersion, owner: Any, state: str = "running") -> Workspace:
    return Workspace.objects.create(
        owner=owner,
        template_version=version,
        name="analysis",
        provider=version.template.provider,
        instance_type="ml.t3.medium",
        volume_size_gb=20,
        data_classification="internal",
        cost_centre="CC-1",
        resource_name=f"enclave-{Workspace.objects.count()}-{owner.pk}",
        state=state,
    )


def test_creating_a_template_saves_a_draft_v1_and_audits_both(catalog_admin: Any) -> None:
    version = _create(catalog_admin)

    assert (version.number, version.status) == (1, VersionStatus.DRAFT)
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["template.created", "template_version.created"]
    created = AuditEvent.objects.get(action="template.created")
    assert created.details["before"] is None
    assert created.details["after"]["name"] == "Python notebook"


def test_a_spec_that_breaks_the_schema_is_refused_with_field_level_errors(catalog_admin: Any) -> None:
    with pytest.raises(services.CatalogInvalid) as invalid:
        _create(catalog_admin, subnet_id="not-a-subnet", default_instance_type="ml.c5.large")

    assert set(invalid.value.field_errors) == {"spec.subnet_id", "spec.default_instance_type"}
    assert "must be one of allowed_instance_types" in invalid.value.field_errors["spec.default_instance_type"][0]


def test_publishing_makes_the_version_the_one_new_workspaces_use(catalog_admin: Any) -> None:
    version = _published(catalog_admin)

    assert version.status == VersionStatus.PUBLISHED
    assert version.published_against is not None
    assert selectors.published_version(version.template) == version
    event = AuditEvent.objects.get(action="template_version.published")
    assert event.details["after"] == {"published": 1, "status": "published"}


def test_editing_a_published_template_creates_a_new_draft_and_leaves_the_published_one(catalog_admin: Any) -> None:
    v1 = _published(catalog_admin)

    v2 = services.save_draft(catalog_admin, v1.template, spec=sagemaker_spec(idle_stop_minutes=45), changelog="45 min")

    v1.refresh_from_db()
    assert (v2.number, v2.status) == (2, VersionStatus.DRAFT)
    assert v1.status == VersionStatus.PUBLISHED
    assert v1.spec["idle_stop_minutes"] == 60
    event = AuditEvent.objects.filter(action="template_version.created").last()
    assert event is not None
    assert event.details["before"]["spec"]["idle_stop_minutes"] == 60
    assert event.details["after"]["spec"]["idle_stop_minutes"] == 45


def test_editing_a_draft_updates_it_in_place_with_before_and_after_audited(catalog_admin: Any) -> None:
    v1 = _create(catalog_admin)

    again = services.save_draft(catalog_admin, v1.template, spec=sagemaker_spec(idle_stop_minutes=30))

    assert again.pk == v1.pk
    event = AuditEvent.objects.get(action="template_version.updated")
    assert (
        event.details["before"]["spec"]["idle_stop_minutes"],
        event.details["after"]["spec"]["idle_stop_minutes"],
    ) == (60, 30)


def test_publishing_a_new_version_supersedes_the_previous_and_existing_workspaces_keep_theirs(
    catalog_admin: Any, scientist: Any
) -> None:
    v1 = _published(catalog_admin)
    ws = _workspace(v1, scientist)
    v2 = services.save_draft(catalog_admin, v1.template, spec=sagemaker_spec(idle_stop_minutes=30))

    services.publish_version(catalog_admin, v2)

    v1.refresh_from_db()
    ws.refresh_from_db()
    assert v1.status == VersionStatus.SUPERSEDED
    assert selectors.published_version(v1.template) == v2
    assert ws.template_version_id == v1.pk


def test_saving_a_changed_spec_on_a_published_version_raises(catalog_admin: Any) -> None:
    version = _published(catalog_admin)
    version.spec = {**version.spec, "root_access": "Enabled"}

    with pytest.raises(ImmutableVersionError):
        version.save()

    version.refresh_from_db()
    assert version.spec["root_access"] == "Disabled"


def test_a_bulk_update_cannot_rewrite_a_published_spec_either(catalog_admin: Any) -> None:
    version = _published(catalog_admin)

    with pytest.raises(ImmutableVersionError):
        TemplateVersion.objects.filter(pk=version.pk).update(spec={})


def test_retiring_a_version_leaves_existing_workspaces_untouched(catalog_admin: Any, scientist: Any) -> None:
    version = _published(catalog_admin)
    running = _workspace(version, scientist, "running")
    stopped = _workspace(version, scientist, "stopped")
    before = {ws.pk: (ws.state, ws.template_version_id, ws.updated_at) for ws in (running, stopped)}

    services.retire_version(catalog_admin, version)

    version.refresh_from_db()
    assert version.status == VersionStatus.RETIRED
    assert version.retired_at is not None
    after = {ws.pk: (ws.state, ws.template_version_id, ws.updated_at) for ws in Workspace.objects.all()}
    assert after == before
    assert selectors.catalog_cards() == []
    event = AuditEvent.objects.get(action="template_version.retired")
    assert event.details["before"] == {"status": "published"}
    assert event.details["workspaces_using_it"] == 2


def test_a_draft_cannot_be_retired(catalog_admin: Any) -> None:
    with pytest.raises(services.VersionStateConflict):
        services.retire_version(catalog_admin, _create(catalog_admin))


@pytest.mark.parametrize("operation", ["create", "edit", "publish", "retire"])
def test_a_scientist_cannot_change_the_catalog_and_the_attempt_is_audited(
    catalog_admin: Any, scientist: Any, operation: str
) -> None:
    draft = _create(catalog_admin, "existing")
    calls = {
        "create": lambda: _create(scientist, "mine"),
        "edit": lambda: services.save_draft(scientist, draft.template, spec=sagemaker_spec(root_access="Enabled")),
        "publish": lambda: services.publish_version(scientist, draft),
        "retire": lambda: services.retire_version(scientist, draft),
    }

    with pytest.raises(PermissionDeniedError):
        calls[operation]()

    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT
    assert draft.spec["root_access"] == "Disabled"
    denied = AuditEvent.objects.get(action="access.denied")
    assert denied.actor_id == scientist.pk
    assert denied.outcome == "denied"


def test_changing_the_baseline_creates_a_new_version_with_before_and_after(catalog_admin: Any) -> None:
    first = services.change_baseline(catalog_admin, change_note="initial")
    second = services.change_baseline(catalog_admin, max_volume_gb=100, change_note="smaller disks")

    assert (first.version, second.version) == (1, 2)
    assert BaselinePolicy.objects.count() == 2
    event = AuditEvent.objects.filter(action="baseline.changed").last()
    assert event is not None
    assert (event.details["before"]["max_volume_gb"], event.details["after"]["max_volume_gb"]) == (200, 100)


def test_a_baseline_version_cannot_be_edited_in_place(catalog_admin: Any) -> None:
    policy = services.change_baseline(catalog_admin, change_note="initial")
    policy.max_idle_minutes = 999

    with pytest.raises(ImmutableVersionError):
        policy.save()


def test_only_catalog_admins_change_the_baseline(auditor: Any) -> None:
    with pytest.raises(PermissionDeniedError):
        services.change_baseline(auditor, max_idle_minutes=999)
    assert not BaselinePolicy.objects.exists()
    assert AuditEvent.objects.get(action="access.denied").actor_id == auditor.pk


def test_a_price_change_is_audited_with_before_and_after(catalog_admin: Any) -> None:
    services.set_price(catalog_admin, provider="aws_sagemaker", size="ml.t3.medium", hourly_price="0.05")
    services.set_price(catalog_admin, provider="aws_sagemaker", size="ml.t3.medium", hourly_price="0.06")

    assert str(InstancePrice.objects.get().hourly_price) == "0.0600"
    event = AuditEvent.objects.filter(action="price.changed").last()
    assert event is not None
    assert event.details["before"] == {"hourly_price": "0.0500", "currency": "EUR"}
    assert event.details["after"] == {"hourly_price": "0.0600", "currency": "EUR"}


def test_the_catalog_estimates_the_hourly_cost_from_the_price_table(catalog_admin: Any) -> None:
    _published(catalog_admin)
    services.set_price(catalog_admin, provider="aws_sagemaker", size="ml.t3.medium", hourly_price="0.058")

    (card,) = selectors.catalog_cards()

    assert card.estimate is not None
    assert (str(card.estimate.hourly), card.estimate.currency) == ("0.0580", "EUR")


def test_a_quota_change_is_audited_and_quota_for_gives_the_most_generous_role(catalog_admin: Any) -> None:
    services.set_role_quota(catalog_admin, role="data_scientist", max_running=1, max_total=3)
    services.set_role_quota(catalog_admin, role="approver", max_running=2, max_total=2)
    both = UserFactory(username="two.roles", roles=["data_scientist", "approver"])

    assert selectors.quota_for(both) == (2, 3)
    event = AuditEvent.objects.filter(action="quota.changed").first()
    assert event is not None
    assert event.details["before"] is None
    assert event.details["after"] == {"max_running": 1, "max_total": 3}


def test_a_role_without_a_configured_quota_gets_the_default_and_no_role_gets_nothing(db: Any) -> None:
    assert selectors.quota_for(UserFactory(username="ds", roles=["data_scientist"])) == selectors.DEFAULT_QUOTA
    assert selectors.quota_for(UserFactory(username="nobody")) == (0, 0)


def test_a_quota_cannot_allow_more_running_than_total(catalog_admin: Any) -> None:
    with pytest.raises(services.CatalogInvalid) as invalid:
        services.set_role_quota(catalog_admin, role="data_scientist", max_running=5, max_total=2)
    assert "max_running" in invalid.value.field_errors


def test_the_admin_list_flags_a_published_version_the_current_baseline_would_refuse(catalog_admin: Any) -> None:
    _published(catalog_admin)
    services.change_baseline(catalog_admin, max_idle_minutes=30, change_note="tighter")

    (row,) = selectors.admin_template_rows()

    assert row.breaks_current_baseline


def test_a_factory_built_version_is_immutable_too(db: Any) -> None:
    version: TemplateVersion = TemplateVersionFactory()  # type: ignore[assignment]
    version.changelog = "rewritten history"
    with pytest.raises(ImmutableVersionError):
        version.save()
