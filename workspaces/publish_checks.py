"""Checks the catalog runs at publish time that need a provider backend (``catalog.checks``)."""

from __future__ import annotations

import logging

from catalog.baseline import Violation
from catalog.specs import HardenedSpec
from workspaces import backends

log = logging.getLogger(__name__)


def boundary_policy_exists(provider: str, spec: HardenedSpec) -> list[Violation]:
    """Refuse a template whose IAM permissions boundary does not exist: AWS would refuse to create
    every workspace role with it. Asks the backend only if it can tell (``boundary_policy_exists``
    returning ``True``/``False``); ``None``, an error or a backend without the probe decides nothing."""
    arn = str(getattr(spec, "permissions_boundary_arn", "") or "")
    if not arn:
        return []
    probe = getattr(backends.get_backend(provider), "boundary_policy_exists", None)
    if probe is None:
        return []
    try:
        exists = probe(arn)
    except Exception as exc:  # the cloud could not answer: not a verdict
        log.warning("publish check: could not look up the permissions boundary %s: %s", arn, exc)
        return []
    if exists is False:
        return [
            Violation(
                rule="boundary_policy_exists",
                field="permissions_boundary_arn",
                message=f"The permissions boundary policy {arn} does not exist in the AWS account; "
                "AWS refuses to create a role with it. Create the policy or choose an existing one.",
            )
        ]
    return []
