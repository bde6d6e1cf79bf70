"""boto3 clients for the SageMaker backend: one session per process, one client per service per backend.

Credentials come from boto3's own chain (environment, profile, host identity), never from the database.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from workspaces.backends.sagemaker.errors import aws_errors

_SESSION_LOCK = threading.Lock()
_SESSIONS: list[boto3.session.Session] = []


def _session() -> boto3.session.Session:
    """One boto3 session per process (call under ``_SESSION_LOCK``): its loader parses each service model once."""
    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


class AwsClients:
    """Lazily built, thread-safe boto3 clients for one region and endpoint, and the portal's own identity."""

    def __init__(self, *, region: str, endpoint_url: str | None, max_attempts: int) -> None:
        self.region = region
        self.endpoint_url = endpoint_url or None
        self._config = Config(
            retries={"mode": "standard", "max_attempts": max_attempts}, connect_timeout=10, read_timeout=60
        )
        self._clients: dict[str, Any] = {}
        self._identity: tuple[str, str] | None = None

    def client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            with _SESSION_LOCK:
                client = self._clients.get(service)
                if client is None:
                    client = _session().client(
                        service, region_name=self.region, endpoint_url=self.endpoint_url, config=self._config
                    )
                    self._clients[service] = client
        return client

    @property
    def sagemaker(self) -> Any:
        return self.client("sagemaker")

    @property
    def iam(self) -> Any:
        return self.client("iam")

    def account(self) -> tuple[str, str]:
        """(partition, account id) of the portal's own AWS identity."""
        if self._identity is None:
            with aws_errors("identify the portal's AWS account"):
                arn = self.client("sts").get_caller_identity()["Arn"]
            parts = arn.split(":")
            self._identity = (parts[1], parts[4])
        return self._identity
