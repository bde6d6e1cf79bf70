"""The provider-neutral contract every cloud backend implements.

A backend is pure provider code: it never touches the database, never decides
policy and never sleeps waiting for the cloud. Every call is idempotent so a
retried or duplicated Celery task is harmless; long operations are advanced by
calling the same method again later (the task re-enqueues itself).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from catalog.providers import Provider


class CloudState(enum.StrEnum):
    """Provider status normalised to the portal's vocabulary."""

    PENDING = "pending"  # being created
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    STARTING = "starting"
    DELETING = "deleting"
    DELETED = "deleted"  # gone from the cloud (or never existed)
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class WorkspaceSpec:
    """Everything a backend needs to build one workspace, resolved by the portal.

    ``resource_name`` is deterministic per workspace (derived from its id), which
    is what makes ``provision`` idempotent: the same spec always names the same
    cloud resource, so a second call adopts instead of creating.
    """

    workspace_id: str  # the portal's UUID, also written as a tag
    resource_name: str  # deterministic cloud name, e.g. "enclave-3f2a9c1d4e5b"
    owner_username: str
    owner_cloud_id: str  # Entra object id on Azure; unused on AWS
    template_slug: str
    template_version: int
    instance_type: str
    volume_size_gb: int
    data_classification: str
    cost_centre: str
    hardening: Mapping[str, Any]  # the validated provider spec (see catalog.specs)
    tags: Mapping[str, str] = field(default_factory=dict)  # all tags to apply


@dataclass(frozen=True)
class CloudRef:
    """Where a workspace lives in the cloud; stored on the Workspace row."""

    provider: Provider
    resource_name: str
    resource_id: str = ""  # ARN on AWS, ARM id on Azure
    extra: Mapping[str, str] = field(default_factory=dict)  # e.g. role name/arn

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider.value,
            "resource_name": self.resource_name,
            "resource_id": self.resource_id,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CloudRef:
        return cls(
            provider=Provider(data["provider"]),
            resource_name=data["resource_name"],
            resource_id=data.get("resource_id", ""),
            extra=dict(data.get("extra", {})),
        )


@dataclass(frozen=True)
class CloudStatus:
    """What the cloud says about one workspace right now."""

    ref: CloudRef
    state: CloudState
    raw_status: str = ""  # the provider's own word, e.g. "InService"
    message: str = ""  # the provider's failure reason, if any
    hardening: Mapping[str, Any] = field(default_factory=dict)  # read back from the cloud
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DataGrantSpec:
    """A time-bound read grant on one dataset for one workspace."""

    grant_id: str  # the portal's id, deterministic names derive from it
    dataset_slug: str
    location: str  # "s3://bucket/prefix/" on AWS, a storage ARM scope on Azure
    expires_at: datetime  # timezone-aware UTC


@dataclass(frozen=True)
class GrantRef:
    """How to find (and remove) a grant that was applied in the cloud."""

    provider: Provider
    grant_id: str
    details: Mapping[str, Any] = field(default_factory=dict)  # exact policy / assignment applied

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider.value, "grant_id": self.grant_id, "details": dict(self.details)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GrantRef:
        return cls(
            provider=Provider(data["provider"]), grant_id=data["grant_id"], details=dict(data.get("details", {}))
        )


class CloudError(Exception):
    """A provider call failed. ``user_message`` is safe to show and to store.

    ``retryable`` says whether the same call may succeed later without anyone
    changing anything (throttling, transient faults); ``retry_after`` is the
    provider's hint in seconds, if it gave one.
    """

    code = "cloud_error"
    retryable = False

    def __init__(self, user_message: str, *, provider_code: str = "", retry_after: float | None = None) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.provider_code = provider_code
        self.retry_after = retry_after


class Throttled(CloudError):
    code = "throttled"
    retryable = True


class TransientCloudError(CloudError):
    code = "transient"
    retryable = True


class CloudQuotaExceeded(CloudError):
    code = "quota_exceeded"


class InvalidCloudRequest(CloudError):
    code = "invalid_request"


class CloudAccessDenied(CloudError):
    code = "access_denied"


class CloudConflict(CloudError):
    code = "conflict"
    retryable = True


@runtime_checkable
class WorkspaceBackend(Protocol):
    provider: Provider

    def provision(self, spec: WorkspaceSpec) -> CloudRef:
        """Create the workspace, or adopt it if it already exists. Does not wait."""

    def describe(self, ref: CloudRef) -> CloudStatus:
        """Current state; ``CloudState.DELETED`` if the resource does not exist."""

    def start(self, ref: CloudRef) -> None:
        """Ask the cloud to start; a no-op if already starting or running."""

    def stop(self, ref: CloudRef) -> None:
        """Ask the cloud to stop; a no-op if already stopping or stopped."""

    def delete(self, ref: CloudRef) -> CloudStatus:
        """Advance deletion one step (stop first where the provider requires it,
        then delete, then remove auxiliary resources such as the execution
        role). Call again until the returned state is ``DELETED``."""

    def open_url(self, ref: CloudRef, *, username: str, session_seconds: int) -> str:
        """A short-lived URL that opens the notebook for its owner."""

    def grant_data_access(self, ref: CloudRef, grant: DataGrantSpec) -> GrantRef:
        """Apply a read grant for the workspace's identity; idempotent per grant_id."""

    def revoke_data_access(self, ref: CloudRef, grant: GrantRef) -> None:
        """Remove a grant; a no-op if it is already gone."""

    def inventory(self) -> Iterable[CloudStatus]:
        """Every workspace in the cloud tagged as managed by Enclave."""
