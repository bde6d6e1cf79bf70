"""A seam for showing a user's quota usage on catalog pages.

Quotas are catalog data, but *usage* (how many workspaces a person has) belongs to
``workspaces``, a higher layer. ``WorkspacesConfig.ready()`` registers a counter here, so the
catalog can show "2 of 5 workspaces" before anyone fills in a form, without importing upward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from catalog.selectors import quota_for


@dataclass(frozen=True)
class Counts:
    running: int = 0  # running, starting or waiting for approval: what the running quota counts
    total: int = 0  # every live workspace: what the total quota counts
    per_template: dict[int, int] = field(default_factory=dict)  # live workspaces by template id


@dataclass(frozen=True)
class QuotaUsage:
    running: int
    max_running: int
    total: int
    max_total: int
    per_template: dict[int, int]

    @property
    def total_left(self) -> int:
        return max(self.max_total - self.total, 0)

    @property
    def running_left(self) -> int:
        return max(self.max_running - self.running, 0)

    def of_template(self, template_id: int) -> int:
        return self.per_template.get(template_id, 0)


_counter: Callable[[Any], Counts] | None = None


def register_counter(counter: Callable[[Any], Counts]) -> None:
    global _counter
    _counter = counter


def usage_for(user: Any) -> QuotaUsage | None:
    """The user's quota and how much of it is used; None when no counter is registered."""
    if _counter is None:
        return None
    counts = _counter(user)
    max_running, max_total = quota_for(user)
    return QuotaUsage(counts.running, max_running, counts.total, max_total, dict(counts.per_template))
