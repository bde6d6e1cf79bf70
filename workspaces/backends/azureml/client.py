"""How Enclave talks to Azure Resource Manager: api-versions, credentials and the bounded retry policy.

Every request goes through the SDK clients' pipeline (authentication, retry,
logging); this module owns the settings that pipeline is built with.
"""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import RetryPolicy

# Every compute call uses this Machine Learning Services api-version. It is the
# one whose published definition declares everything the create body sends,
# ``idleTimeBeforeShutdown`` on ComputeInstanceProperties included (2024-04-01
# does not: Azure may drop it there silently). The definition is Microsoft's
# TypeSpec-generated ARM client in azure-ai-ml (_restclient.arm_ml_service); the
# fake ARM and tests/workspaces/test_azure_create_body.py hold us to it.
API_VERSION = "2025-12-01"
AUTHORIZATION_API_VERSION = "2022-04-01"
PUBLIC_ARM_ENDPOINT = "https://management.azure.com"

# Retry budget inside one backend call. azure-core retries 408/429/5xx and honours
# Retry-After; a small total keeps a worker from being parked for minutes, and a
# Retry-After longer than MAX_INLINE_RETRY_AFTER is not slept at all: the caller
# gets ``Throttled(retry_after=...)`` and the task re-schedules itself instead.
RETRY_TOTAL = 2
MAX_INLINE_RETRY_AFTER = 10.0


class StaticTokenCredential:
    """A ``TokenCredential`` that always presents one fixed bearer token.

    Only ever used against a non-Azure endpoint override (the fake ARM in tests
    and the embedded demo); ``from_settings`` refuses it for the real ARM.
    """

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)

    def __repr__(self) -> str:
        return "StaticTokenCredential(<redacted>)"


class BoundedRetryPolicy(RetryPolicy):
    """azure-core's retry policy, except that it never sleeps on a Retry-After above ``max_retry_after``."""

    def __init__(self, *, max_retry_after: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_retry_after = max_retry_after

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after is not None and retry_after > self._max_retry_after:
            return False
        return bool(super().is_retry(settings, response))


def client_kwargs(
    *, arm_endpoint: str, connection_verify: str | bool, retry_total: int, max_retry_after: float
) -> dict[str, Any]:
    """Keyword arguments for an ARM management client: endpoint, TLS trust, bounded retries, timeouts."""
    return {
        "base_url": arm_endpoint,
        "connection_verify": connection_verify,
        "retry_policy": BoundedRetryPolicy(
            max_retry_after=max_retry_after,
            retry_total=retry_total,
            retry_backoff_factor=0.5,
            retry_backoff_max=8,
        ),
        "connection_timeout": 10,
        "read_timeout": 60,
    }


def raw_json(pipeline_response: PipelineResponse[Any, Any], _deserialized: Any, _headers: Any) -> Any:
    """``cls`` hook: keep the ``API_VERSION`` JSON instead of the SDK's 2020-08-01 model."""
    return pipeline_response.http_response.json()
