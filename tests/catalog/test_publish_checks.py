"""Publish-time checks registered by higher apps (``catalog.checks``): the boundary policy."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from catalog import services
from catalog.models import TemplateVersion, VersionStatus
from catalog.services import BaselineViolation
from tests.factories import sagemaker_spec
from workspaces import backends

pytestmark = pytest.mark.django_db


class Backend:
    def __init__(self, answer: bool | None) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def boundary_policy_exists(self, arn: str) -> bool | None:
        self.asked.append(arn)
        return self.answer


def _draft(admin: Any) -> TemplateVersion:
    return services.create_template(
        admin, slug="python", provider="aws_sagemaker", spec=sagemaker_spec(), name="Python notebook",
        description="Everyday analysis.", classifications=["internal"],
    )  # fmt: skip


def test_publishing_is_refused_when_the_cloud_says_the_boundary_policy_does_not_exist(catalog_admin, monkeypatch):
    backend = Backend(False)
    monkeypatch.setattr(backends, "get_backend", lambda provider: backend)
    draft = _draft(catalog_admin)
    with pytest.raises(BaselineViolation) as refused:
        services.publish_version(catalog_admin, draft)
    assert "does not exist" in refused.value.message
    assert refused.value.field_errors["spec.permissions_boundary_arn"]
    assert backend.asked == [draft.spec["permissions_boundary_arn"]]
    assert TemplateVersion.objects.get(pk=draft.pk).status == VersionStatus.DRAFT
    assert AuditEvent.objects.filter(action="template_version.publish_refused", target_id=str(draft.pk)).exists()


@pytest.mark.parametrize("answer", [True, None])
def test_publishing_goes_ahead_when_the_policy_exists_or_the_cloud_cannot_tell(catalog_admin, monkeypatch, answer):
    monkeypatch.setattr(backends, "get_backend", lambda provider: Backend(answer))
    published = services.publish_version(catalog_admin, _draft(catalog_admin))
    assert published.status == VersionStatus.PUBLISHED


def test_publishing_goes_ahead_with_a_backend_that_cannot_check(catalog_admin, monkeypatch):
    monkeypatch.setattr(backends, "get_backend", lambda provider: object())
    assert services.publish_version(catalog_admin, _draft(catalog_admin)).status == VersionStatus.PUBLISHED
