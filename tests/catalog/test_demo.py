"""The demo catalog seed."""

from __future__ import annotations

from typing import Any

from catalog import selectors
from catalog.demo import seed_catalog
from catalog.models import BaselinePolicy, InstancePrice, RoleQuota, Template, TemplateVersion


def test_seeding_the_demo_catalog_publishes_its_templates_and_is_idempotent(catalog_admin: Any) -> None:
    seed_catalog(catalog_admin)
    counts = (Template.objects.count(), TemplateVersion.objects.count(), BaselinePolicy.objects.count(),
              InstancePrice.objects.count(), RoleQuota.objects.count())  # fmt: skip

    seed_catalog(catalog_admin)

    again = (Template.objects.count(), TemplateVersion.objects.count(), BaselinePolicy.objects.count(),
             InstancePrice.objects.count(), RoleQuota.objects.count())  # fmt: skip
    assert again == counts
    cards = {card.template.slug: card for card in selectors.catalog_cards()}
    assert set(cards) == {"standard-python-sagemaker", "secure-azure-ml", "gpu-notebook-sagemaker"}
    assert not cards["standard-python-sagemaker"].template.needs_approval
    assert not cards["secure-azure-ml"].template.needs_approval
    assert cards["gpu-notebook-sagemaker"].template.needs_approval
    assert all(card.estimate is not None for card in cards.values())
