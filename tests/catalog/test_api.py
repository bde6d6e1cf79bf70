"""The catalog REST API: /api/v1/templates and /api/v1/catalog/* call the same services."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from catalog import services
from catalog.models import Template, TemplateVersion, VersionStatus
from tests.factories import sagemaker_spec
from tests.fixtures.mfa import client_with_mfa

NEW = {
    "slug": "python",
    "name": "Python notebook",
    "provider": "aws_sagemaker",
    "description": "Everyday analysis.",
    "classifications": ["internal"],
}


def _published(admin: Any, slug: str = "python") -> TemplateVersion:
    draft = services.create_template(
        admin, slug=slug, provider="aws_sagemaker", spec=sagemaker_spec(), name=slug.title(), description="d",
        classifications=["internal"],
    )  # fmt: skip
    return services.publish_version(admin, draft)


def test_a_catalog_admin_creates_a_template_through_the_api(catalog_admin: Any) -> None:
    response = client_with_mfa(catalog_admin).post(
        "/api/v1/templates", {**NEW, "spec": sagemaker_spec()}, content_type="application/json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "draft"
    assert Template.objects.filter(slug="python").exists()


def test_a_scientist_cannot_create_a_template_and_the_attempt_is_audited(scientist: Any) -> None:
    response = client_with_mfa(scientist).post(
        "/api/v1/templates", {**NEW, "spec": sagemaker_spec()}, content_type="application/json"
    )

    assert response.status_code == 403
    assert not Template.objects.exists()
    assert AuditEvent.objects.filter(action="access.denied", actor=scientist, outcome="denied").exists()


@pytest.mark.parametrize("action", ["publish", "retire"])
def test_a_scientist_cannot_publish_or_retire_through_the_api(catalog_admin: Any, scientist: Any, action: str) -> None:
    version = _published(catalog_admin)

    response = client_with_mfa(scientist).post(f"/api/v1/templates/python/versions/{version.number}/{action}")

    assert response.status_code in (403, 404)
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED


def test_a_scientist_cannot_edit_a_template_through_the_api(catalog_admin: Any, scientist: Any) -> None:
    _published(catalog_admin)

    response = client_with_mfa(scientist).patch(
        "/api/v1/templates/python", {"spec": sagemaker_spec(root_access="Enabled")}, content_type="application/json"
    )

    assert response.status_code == 403
    assert TemplateVersion.objects.count() == 1
    assert AuditEvent.objects.filter(action="access.denied", actor=scientist).exists()


def test_spec_errors_come_back_field_by_field(catalog_admin: Any) -> None:
    response = client_with_mfa(catalog_admin).post(
        "/api/v1/templates",
        {**NEW, "spec": sagemaker_spec(subnet_id="nope", idle_stop_minutes=1)},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"spec.subnet_id", "spec.idle_stop_minutes"}


def test_patching_a_published_version_is_refused_and_it_stays_unchanged(catalog_admin: Any) -> None:
    version = _published(catalog_admin)

    response = client_with_mfa(catalog_admin).patch(
        "/api/v1/templates/python/versions/1",
        {"spec": sagemaker_spec(idle_stop_minutes=15)},
        content_type="application/json",
    )

    assert response.status_code == 409
    assert "immutable" in response.json()["detail"]
    version.refresh_from_db()
    assert version.spec["idle_stop_minutes"] == 60


def test_patching_the_template_spec_creates_a_draft_and_keeps_the_published_version(catalog_admin: Any) -> None:
    _published(catalog_admin)

    response = client_with_mfa(catalog_admin).patch(
        "/api/v1/templates/python", {"spec": sagemaker_spec(idle_stop_minutes=15)}, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["published_version"]["number"] == 1
    draft = TemplateVersion.objects.get(status=VersionStatus.DRAFT)
    assert (draft.number, draft.spec["idle_stop_minutes"]) == (2, 15)


def test_publishing_a_breaking_version_through_the_api_lists_every_violation(catalog_admin: Any) -> None:
    client = client_with_mfa(catalog_admin)
    client.post(
        "/api/v1/templates",
        {**NEW, "spec": sagemaker_spec(root_access="Enabled", kms_key_id="")},
        content_type="application/json",
    )

    response = client.post("/api/v1/templates/python/versions/1/publish")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "baseline_violation"
    assert {v["rule"] for v in body["violations"]} == {"no_root", "customer_managed_key"}
    assert set(body["fields"]) == {"spec.root_access", "spec.kms_key_id"}
    assert AuditEvent.objects.filter(action="template_version.publish_refused").exists()


def test_scientists_list_only_requestable_templates_and_admins_see_drafts(catalog_admin: Any, scientist: Any) -> None:
    _published(catalog_admin, "published-one")
    services.create_template(
        catalog_admin, slug="draft-only", provider="aws_sagemaker", spec=sagemaker_spec(), name="Draft",
        description="d", classifications=["internal"],
    )  # fmt: skip

    as_scientist = client_with_mfa(scientist).get("/api/v1/templates").json()
    as_admin = client_with_mfa(catalog_admin).get("/api/v1/templates").json()

    assert [t["slug"] for t in as_scientist["results"]] == ["published-one"]
    assert {t["slug"] for t in as_admin["results"]} == {"published-one", "draft-only"}
    assert "No direct internet access" in as_scientist["results"][0]["guarantees"]
    assert client_with_mfa(scientist).get("/api/v1/templates/draft-only").status_code == 404


def test_an_auditor_reads_the_baseline_but_cannot_change_it(auditor: Any) -> None:
    client = client_with_mfa(auditor)

    assert client.get("/api/v1/catalog/baseline").status_code == 200
    response = client.put(
        "/api/v1/catalog/baseline",
        {"max_idle_minutes": 999, "max_volume_gb": 10, "mandatory_tag_keys": [], "allowed_instance_types": [],
         "allowed_vm_sizes": []},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="access.denied", actor=auditor).exists()


def test_a_catalog_admin_sets_prices_and_quotas_through_the_api(catalog_admin: Any) -> None:
    client = client_with_mfa(catalog_admin)

    price = client.post(
        "/api/v1/catalog/prices",
        {"provider": "aws_sagemaker", "size": "ml.t3.medium", "hourly_price": "0.0580", "currency": "EUR"},
        content_type="application/json",
    )
    quota = client.post(
        "/api/v1/catalog/quotas",
        {"role": "data_scientist", "max_running": 1, "max_total": 2},
        content_type="application/json",
    )

    assert (price.status_code, quota.status_code) == (200, 200)
    assert AuditEvent.objects.filter(action__in=["price.changed", "quota.changed"]).count() == 2


def test_the_openapi_schema_documents_the_templates_endpoints(catalog_admin: Any) -> None:
    response = client_with_mfa(catalog_admin).get("/api/schema/")

    assert response.status_code == 200
    text = response.content.decode()
    assert "/api/v1/templates/{slug}/versions/{number}/publish" in text
    assert "/api/v1/catalog/baseline" in text
