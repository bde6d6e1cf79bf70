"""The dataset access form offers only workspaces that can hold the dataset, and says how to get one."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.factories import DatasetFactory, TemplateVersionFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def _workspace(owner: Any, name: str, classification: str, provider: str = "aws_sagemaker") -> Any:
    version = TemplateVersionFactory(template__provider=provider)
    return WorkspaceFactory(
        owner=owner,
        name=name,
        template_version=version,
        data_classification=classification,
        state="running",
        cloud_ref={"provider": provider, "resource_name": name},
    )


def test_only_workspaces_that_can_hold_the_chosen_dataset_are_offered(client: Any, scientist: Any) -> None:
    _workspace(scientist, "internal box", "internal")
    _workspace(scientist, "confidential box", "confidential")
    _workspace(scientist, "azure box", "restricted", provider="azure_ml")
    dataset = DatasetFactory(slug="claims", classification="confidential")
    client.force_login(scientist)

    page = client.get(reverse("approvals:new_request"), {"dataset": dataset.slug}).content.decode()

    assert "confidential box" in page
    assert "internal box" not in page
    assert "azure box" not in page


def test_with_no_fitting_workspace_the_form_links_to_the_catalog_for_that_data(client: Any, scientist: Any) -> None:
    _workspace(scientist, "internal box", "internal")
    DatasetFactory(slug="claims", classification="confidential")
    client.force_login(scientist)

    page = client.get(reverse("approvals:new_request"), {"dataset": "claims"}).content.decode()

    assert "Request a workspace for confidential data" in page
    assert f"{reverse('catalog:catalog')}?provider=aws_sagemaker&amp;classification=confidential" in page


def test_a_posted_workspace_that_cannot_hold_the_dataset_is_refused_on_the_workspace_field(
    client: Any, scientist: Any
) -> None:
    internal = _workspace(scientist, "internal box", "internal")
    DatasetFactory(slug="claims", classification="confidential")
    client.force_login(scientist)

    response = client.post(
        reverse("approvals:new_request"),
        {"dataset": "claims", "workspace": internal.pk, "duration_hours": 8, "justification": "Fraud model training."},
    )

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_the_workspace_request_form_has_no_default_classification(client: Any, scientist: Any) -> None:
    version: Any = TemplateVersionFactory()
    client.force_login(scientist)

    page = client.get(reverse("workspaces:request", kwargs={"slug": version.template.slug})).content.decode()

    assert 'value="" selected' in page or '<option value="">' in page
    assert '<option value="internal" selected' not in page
