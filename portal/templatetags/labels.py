"""Template filters for people's words: ``{{ ws.state|state_label }}``, ``{{ event.action|action_label }}``.

The registries are ``core.labels`` and ``audit.labels``; templates keep the raw code in a tooltip.
"""

from __future__ import annotations

from typing import Any

from django import template

from audit import labels as audit_labels
from core import labels as core_labels

register = template.Library()

register.filter("state_label", core_labels.state_label)
register.filter("provider_label", core_labels.provider_label)
register.filter("classification_label", core_labels.classification_label)
register.filter("field_label", core_labels.field_label)
register.filter("action_label", audit_labels.action_label)
register.filter("actor_label", audit_labels.actor_label)
register.filter("outcome_label", audit_labels.outcome_label)


@register.filter
def usage_of_template(template_id: int, usage: Any) -> int:
    """How many live workspaces the user has of this template (``catalog.usage.QuotaUsage``)."""
    return int(usage.of_template(template_id)) if usage is not None else 0
