"""Catalog pages: the data scientists' catalog and the catalog admin pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from catalog import services
from catalog.models import Template, TemplateVersion, VersionStatus
from tests.factories import TemplateFactory, TemplateVersionFactory, azureml_spec, sagemaker_spec
from tests.fixtures.mfa import client_with_mfa


def _published(admin: Any, slug: str, provider: str = "aws_sagemaker", **fields: Any) -> TemplateVersion:
    spec = sagemaker_spec() if provider == "aws_sagemaker" else azureml_spec()
    values = {"name": slug.title(), "description": "d", "classifications": ["internal"], **fields}
    draft = services.create_template(admin, slug=slug, provider=provider, spec=spec, **values)
    return services.publish_version(admin, draft)


def _seed_templates(count: int) -> None:
    for i in range(count):
        provider = "aws_sagemaker" if i % 2 else "azure_ml"
        TemplateVersionFactory(template=TemplateFactory(provider=provider, slug=f"bulk-{count}-{i}"), number=1)


def _catalog_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/catalog/")
    assert response.status_code == 200
    return len(queries)


def test_the_catalog_page_runs_the_same_number_of_queries_for_5_and_200_templates(scientist: Any) -> None:
    client = client_with_mfa(scientist)
    _seed_templates(5)
    client.get("/catalog/")  # warm the session/role caches like a second page view
    with_5 = _catalog_queries(client)
    assert client.get("/catalog/").content.count(b'data-testid="template-card-') == 5

    _seed_templates(195)
    with_200 = _catalog_queries(client)

    assert client.get("/catalog/").content.count(b'data-testid="template-card-') == 200
    assert with_5 == with_200


def test_a_card_says_what_the_template_guarantees_and_costs_and_links_to_request_it(
    catalog_admin: Any, scientist: Any
) -> None:
    _published(catalog_admin, "python", intended_use="Everyday analysis")
    services.set_price(catalog_admin, provider="aws_sagemaker", size="ml.t3.medium", hourly_price="0.058")

    page = client_with_mfa(scientist).get("/catalog/").content.decode()

    for text in ("No direct internet access", "Root access disabled", "Encrypted with the bank&#x27;s key …",
                 "Stops after 60 idle minutes", "≈ 0.06 EUR", "Everyday analysis"):  # fmt: skip
        assert text in page
    assert 'href="/catalog/request/python/"' in page


def test_the_catalog_filters_by_provider_and_classification(catalog_admin: Any, scientist: Any) -> None:
    _published(catalog_admin, "aws-internal", classifications=["internal"])
    _published(catalog_admin, "azure-restricted", "azure_ml", classifications=["restricted"])
    client = client_with_mfa(scientist)

    by_provider = client.get("/catalog/?provider=azure_ml").content.decode()
    by_class = client.get("/catalog/?classification=internal").content.decode()

    assert "template-card-azure-restricted" in by_provider
    assert "template-card-aws-internal" not in by_provider
    assert "template-card-aws-internal" in by_class
    assert "template-card-azure-restricted" not in by_class


def test_drafts_and_retired_versions_are_not_in_the_catalog(catalog_admin: Any, scientist: Any) -> None:
    services.create_template(
        catalog_admin, slug="draft", provider="aws_sagemaker", spec=sagemaker_spec(), name="Draft", description="d",
        classifications=["internal"],
    )  # fmt: skip
    services.retire_version(catalog_admin, _published(catalog_admin, "old"))

    page = client_with_mfa(scientist).get("/catalog/").content.decode()

    assert 'data-testid="catalog-empty"' in page


ADMIN_GETS = ["/catalog/manage/", "/catalog/manage/baseline", "/catalog/manage/prices", "/catalog/manage/quotas",
              "/catalog/manage/templates/python/", "/catalog/manage/templates/python/v1/",
              "/catalog/manage/templates/python/diff"]  # fmt: skip


@pytest.mark.parametrize("url", ADMIN_GETS)
def test_auditors_can_read_the_catalog_admin_pages(catalog_admin: Any, auditor: Any, url: str) -> None:
    _published(catalog_admin, "python")
    response = client_with_mfa(auditor).get(url)
    assert response.status_code == 200
    assert b'data-testid="read-only"' in response.content


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/catalog/manage/baseline", {"max_idle_minutes": 999}),
        ("/catalog/manage/prices", {"provider": "aws_sagemaker", "size": "ml.t3.medium", "hourly_price": "9"}),
        ("/catalog/manage/quotas", {"role": "data_scientist", "max_running": 9, "max_total": 9}),
        ("/catalog/manage/templates/python/v1/retire", {}),
    ],
)
def test_auditors_cannot_change_the_catalog(catalog_admin: Any, auditor: Any, url: str, data: dict[str, Any]) -> None:
    version = _published(catalog_admin, "python")
    response = client_with_mfa(auditor).post(url, data)
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="access.denied", actor=auditor).exists()
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED


@pytest.mark.parametrize("url", [*ADMIN_GETS, "/catalog/manage/templates/new", "/catalog/manage/templates/python/edit"])
def test_scientists_cannot_open_the_catalog_admin_pages(catalog_admin: Any, scientist: Any, url: str) -> None:
    _published(catalog_admin, "python")
    assert client_with_mfa(scientist).get(url).status_code == 403


def test_a_scientist_cannot_publish_through_the_page_and_the_attempt_is_audited(
    catalog_admin: Any, scientist: Any
) -> None:
    services.create_template(
        catalog_admin, slug="python", provider="aws_sagemaker", spec=sagemaker_spec(), name="P", description="d",
        classifications=["internal"],
    )  # fmt: skip

    response = client_with_mfa(scientist).post("/catalog/manage/templates/python/v1/publish")

    assert response.status_code == 403
    assert TemplateVersion.objects.get().status == VersionStatus.DRAFT
    assert AuditEvent.objects.filter(action="access.denied", actor=scientist).exists()


def _form_data(**spec_overrides: Any) -> dict[str, Any]:
    spec = sagemaker_spec(**spec_overrides)
    data: dict[str, Any] = {
        "name": "Python notebook",
        "slug": "python",
        "description": "Everyday analysis",
        "classifications": ["internal"],
        "max_workspaces_per_user": 2,
        "provider": "aws_sagemaker",
    }
    for key, value in spec.items():
        if isinstance(value, list):
            value = "\n".join(value)
        elif isinstance(value, dict):
            value = "\n".join(f"{k}={v}" for k, v in value.items())
        data[f"spec-{key}"] = value
    return data


def test_the_create_form_shows_spec_errors_on_their_fields(catalog_admin: Any) -> None:
    response = client_with_mfa(catalog_admin).post(
        "/catalog/manage/templates/new?provider=aws_sagemaker", _form_data(subnet_id="subnet-XYZ")
    )

    assert response.status_code == 400
    field = response.content.decode().split('data-testid="field-spec-subnet_id"')[1].split("</div>")[0]
    assert "errorlist" in field
    assert "String should match pattern" in field
    assert not Template.objects.exists()


def test_publishing_through_the_page_lists_every_violation(catalog_admin: Any) -> None:
    client = client_with_mfa(catalog_admin)
    client.post(
        "/catalog/manage/templates/new?provider=aws_sagemaker",
        _form_data(direct_internet_access="Enabled", idle_stop_minutes=600),
    )

    response = client.post("/catalog/manage/templates/python/v1/publish")

    assert response.status_code == 400
    page = response.content.decode()
    assert "breaks the security baseline in 2 ways" in page
    assert "Direct internet access must be Disabled." in page
    assert "Idle shutdown is 600 minutes" in page


def test_editing_a_published_template_through_the_page_creates_draft_v2(catalog_admin: Any) -> None:
    _published(catalog_admin, "python")
    data = _form_data(idle_stop_minutes=30)
    del data["slug"]

    response = client_with_mfa(catalog_admin).post("/catalog/manage/templates/python/edit", data)

    assert response.status_code == 302
    assert list(TemplateVersion.objects.order_by("number").values_list("number", "status")) == [
        (1, "published"),
        (2, "draft"),
    ]


def test_the_diff_page_shows_changed_fields_side_by_side(catalog_admin: Any) -> None:
    v1 = _published(catalog_admin, "python")
    services.save_draft(catalog_admin, v1.template, spec=sagemaker_spec(idle_stop_minutes=30), changelog="faster stop")

    page = client_with_mfa(catalog_admin).get("/catalog/manage/templates/python/diff?a=1&b=2").content.decode()

    row = page.split('data-testid="diff-row-idle_stop_minutes"')[1].split("</tr>")[0]
    assert ">60<" in row
    assert ">30<" in row
    assert 'data-testid="diff-row-subnet_id"' not in page  # unchanged fields hidden by default


def test_anonymous_visitors_are_sent_to_sign_in(db: Any) -> None:
    response = Client().get("/catalog/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    "url",
    [*ADMIN_GETS, "/catalog/manage/templates/new", "/catalog/manage/templates/new?provider=aws_sagemaker",
     "/catalog/manage/templates/new?provider=azure_ml", "/catalog/manage/templates/python/edit",
     "/catalog/manage/templates/azure/edit", "/catalog/manage/templates/azure/v1/", "/catalog/"],
)  # fmt: skip
def test_a_catalog_admin_can_open_every_catalog_page(catalog_admin: Any, url: str) -> None:
    _published(catalog_admin, "python")
    _published(catalog_admin, "azure", "azure_ml")
    response = client_with_mfa(catalog_admin).get(url)
    assert response.status_code == 200
    assert b'data-testid="read-only"' not in response.content


def test_an_unknown_template_is_an_audited_404(catalog_admin: Any) -> None:
    response = client_with_mfa(catalog_admin).get("/catalog/manage/templates/nope/")
    assert response.status_code == 404
    assert AuditEvent.objects.filter(action="access.denied", actor=catalog_admin).exists()
