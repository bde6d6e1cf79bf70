"""Where an Azure ML compute instance lives: ARM ids, ``ComputeLocation``, compute names, known workspaces."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from workspaces.backends.base import CloudRef, InvalidCloudRequest, Provider

_COMPUTE_NAME = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")


@dataclass(frozen=True)
class ComputeLocation:
    """Where one compute instance lives: subscription, resource group, Azure ML workspace and name."""

    subscription_id: str
    resource_group: str
    workspace_name: str
    compute_name: str

    @property
    def workspace_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.workspace_name}"
        )

    @property
    def arm_id(self) -> str:
        return f"{self.workspace_id}/computes/{self.compute_name}"

    @classmethod
    def from_ref(cls, ref: CloudRef) -> ComputeLocation:
        """From the ref's ``extra`` (written by ``provision``), falling back to parsing its ARM id."""
        extra = ref.extra
        if all(extra.get(k) for k in ("subscription_id", "resource_group", "workspace_name")):
            return cls(
                extra["subscription_id"],
                extra["resource_group"],
                extra["workspace_name"],
                extra.get("compute_name") or ref.resource_name,
            )
        parsed = parse_compute_id(ref.resource_id)
        if parsed is None:
            raise InvalidCloudRequest(f"The workspace's Azure reference is incomplete ({ref.resource_id!r}).")
        return parsed

    def to_ref(self, principal_id: str = "", **requested: str) -> CloudRef:
        """The ref to store; ``requested`` records settings that ``describe`` must find confirmed."""
        extra = {
            "subscription_id": self.subscription_id,
            "resource_group": self.resource_group,
            "workspace_name": self.workspace_name,
            "compute_name": self.compute_name,
        }
        if principal_id:
            extra["principal_id"] = principal_id
        extra.update(requested)
        return CloudRef(
            provider=Provider.AZURE_ML, resource_name=self.compute_name, resource_id=self.arm_id, extra=extra
        )


def parse_compute_id(resource_id: str) -> ComputeLocation | None:
    m = re.match(
        r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.MachineLearningServices"
        r"/workspaces/([^/]+)/computes/([^/]+)$",
        resource_id,
        re.IGNORECASE,
    )
    return ComputeLocation(*m.groups()) if m else None


def compute_name_for(resource_name: str) -> str:
    """The compute instance name for a workspace's deterministic ``resource_name``.

    Azure requires 3-24 characters, a leading letter, only letters, digits and
    hyphens, no trailing hyphen, and uniqueness within the Azure *region*. A
    ``resource_name`` that already qualifies (lower-cased) is used as is, e.g.
    ``enclave-3f2a9c1d4e5b``; anything else becomes its first 15 sanitised
    characters, a hyphen and 8 hex digits of its SHA-256, so the mapping stays
    deterministic (which is what makes ``provision`` idempotent) and distinct
    inputs do not collide.
    """
    lowered = resource_name.lower()
    if _COMPUTE_NAME.match(lowered):
        return lowered
    cleaned = re.sub(r"[^a-z0-9-]+", "-", lowered).strip("-")
    if not cleaned[:1].isalpha():
        cleaned = "e" + cleaned
    digest = hashlib.sha256(resource_name.encode()).hexdigest()[:8]
    return f"{cleaned[:15].rstrip('-')}-{digest}"


def parse_known_workspaces(value: str | Sequence[Any] | None) -> list[tuple[str, str, str]]:
    """``ENCLAVE_AZURE_WORKSPACES``: Azure ML workspaces that ``inventory`` always lists.

    Accepts ``"sub/rg/ws,sub/rg/ws"`` (the environment form), ARM workspace ids,
    or a sequence of such strings or of ``(subscription, resource_group,
    workspace)`` triples.
    """
    if not value:
        return []
    items: Iterable[Any] = value.split(",") if isinstance(value, str) else value
    found: list[tuple[str, str, str]] = []
    for item in items:
        if isinstance(item, str):
            item = item.strip()
            if not item:
                continue
            m = re.match(
                r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.MachineLearningServices"
                r"/workspaces/([^/]+)/?$",
                item,
                re.IGNORECASE,
            )
            parts = list(m.groups()) if m else item.strip("/").split("/")
        else:
            parts = [str(p) for p in item]
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"ENCLAVE_AZURE_WORKSPACES entry {item!r} is not subscription/resource-group/workspace")
        found.append((parts[0], parts[1], parts[2]))
    return found
