"""A tiny in-memory backend for the grant half of ``WorkspaceBackend``: what is applied is kept
per grant id, so tests can assert what the cloud would hold; ``fail_next`` injects errors."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from workspaces.backends.base import CloudError, CloudRef, DataGrantSpec, GrantRef, Provider


@dataclass
class FakeGrantBackend:
    provider: Provider = Provider.AWS_SAGEMAKER
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    faults: dict[str, list[CloudError]] = field(default_factory=lambda: defaultdict(list))

    def fail_next(self, method: str, error: CloudError, times: int = 1) -> None:
        self.faults[method].extend([error] * times)

    def _call(self, method: str, grant_id: str) -> None:
        self.calls.append((method, grant_id))
        if self.faults[method]:
            raise self.faults[method].pop(0)

    def grant_data_access(self, ref: CloudRef, grant: DataGrantSpec) -> GrantRef:
        self._call("grant_data_access", grant.grant_id)
        details = {
            "role_name": f"{ref.resource_name}-role",
            "policy_name": f"enclave-grant-{grant.grant_id}",
            "location": grant.location,
            "until": grant.expires_at.isoformat(),
        }
        self.applied[grant.grant_id] = details
        return GrantRef(provider=self.provider, grant_id=grant.grant_id, details=details)

    def revoke_data_access(self, ref: CloudRef, grant: GrantRef) -> None:
        self._call("revoke_data_access", grant.grant_id)
        self.applied.pop(grant.grant_id, None)
