"""Publish-time checks that need knowledge the catalog does not own (a seam).

The catalog sits below ``workspaces`` and may not import the provider backends, yet whether a
template can be built at all sometimes depends on the cloud: an IAM permissions boundary that does
not exist makes every role creation fail. A higher app registers a check here in its
``AppConfig.ready()`` (``workspaces`` registers the boundary-policy check); ``publish_version``
runs every registered check and refuses the version, listing each problem like a baseline
violation. A check that cannot tell returns nothing: it refuses only on a definitive answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from catalog.baseline import Violation
from catalog.specs import HardenedSpec

log = logging.getLogger(__name__)

PublishCheck = Callable[[str, HardenedSpec], list[Violation]]
_CHECKS: dict[str, PublishCheck] = {}


def register(name: str, check: PublishCheck) -> None:
    """Add a publish-time check (idempotent by name)."""
    _CHECKS[name] = check


def run(provider: str, spec: HardenedSpec) -> list[Violation]:
    """Every problem the registered checks find; a check that crashes is logged and skipped."""
    found: list[Violation] = []
    for name, check in sorted(_CHECKS.items()):
        try:
            found += check(provider, spec)
        except Exception:
            log.exception("publish check %s failed; publishing without its verdict", name)
    return found
