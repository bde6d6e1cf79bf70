"""Quota usage is shown before anyone submits: on the catalog and on the request form."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.factories import TemplateVersionFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_the_catalog_shows_how_much_of_the_quota_is_used(client: Any, scientist: Any) -> None:
    version = TemplateVersionFactory(template__max_workspaces_per_user=2)
    WorkspaceFactory(owner=scientist, template_version=version, state="running")
    WorkspaceFactory(owner=scientist, template_version=version, state="stopped")
    WorkspaceFactory(owner=scientist, template_version=version, state="deleted")
    client.force_login(scientist)

    page = client.get(reverse("catalog:catalog")).content.decode()

    assert "<strong>2 of " in page  # deleted workspaces do not count
    assert "1 of " in page  # one running
    assert "2 per person · you have 2" in page


def test_the_request_form_warns_before_submitting_when_the_template_limit_is_reached(
    client: Any, scientist: Any
) -> None:
    version: Any = TemplateVersionFactory(template__max_workspaces_per_user=1)
    WorkspaceFactory(owner=scientist, template_version=version, state="stopped")
    client.force_login(scientist)

    page = client.get(reverse("workspaces:request", kwargs={"slug": version.template.slug})).content.decode()

    assert 'data-testid="quota-usage"' in page
    assert "This request would exceed your quota" in page
