"""Where checkpoints and key records are kept: write-once storage outside the database.

``S3ObjectLockSink`` (production): each object is written once (``If-None-Match: *``) with a
compliance-mode Object Lock retention, so nobody — not the portal, not the account's root
user — can delete or change that version before the retention ends. In a versioned bucket a
second PUT under the same name would add a *version* beside the locked one, so readers
always take the **oldest** version of a name and report any extra one.

``DirectorySink`` (demo, tests, or a WORM-mounted volume): files are created exclusively and
made read-only. It stops the portal from rewriting them, not the host's root; use it in
production only on storage that enforces retention itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class AnchorExists(Exception):
    """The name is already taken: write-once storage never replaces an object."""


class SinkError(Exception):
    """The sink could not be reached or refused a write."""


@dataclass(frozen=True)
class SinkEntry:
    name: str  # relative to the sink's root, e.g. "checkpoints/000000000001.json"
    version: str | None = None  # the version read (S3: the oldest)
    extra_versions: int = 0  # later versions written under the same name (never trusted)


class Sink(Protocol):
    def describe(self) -> str: ...

    def put(self, name: str, data: bytes) -> SinkEntry: ...

    def entries(self, prefix: str, *, start_after: str = "") -> list[SinkEntry]: ...

    def read(self, entry: SinkEntry) -> bytes: ...


class DirectorySink:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return f"file://{self.root}"

    def put(self, name: str, data: bytes) -> SinkEntry:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except FileExistsError as exc:
            raise AnchorExists(name) from exc
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return SinkEntry(name)

    def entries(self, prefix: str, *, start_after: str = "") -> list[SinkEntry]:
        folder = self._path(prefix)
        if not folder.is_dir():
            return []
        names = sorted(prefix + p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        return [SinkEntry(n) for n in names if n > start_after]

    def read(self, entry: SinkEntry) -> bytes:
        return self._path(entry.name).read_bytes()

    def _path(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if not str(path).startswith(str(self.root.resolve())):
            raise ValueError(f"name escapes the sink: {name!r}")
        return path


class S3ObjectLockSink:
    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        retention_days: int,
        mode: str = "COMPLIANCE",
        client: Any = None,
        create_bucket: bool = False,
    ) -> None:
        if mode not in {"COMPLIANCE", "GOVERNANCE"}:
            raise ImproperlyConfigured("object-lock mode must be COMPLIANCE or GOVERNANCE")
        self.bucket = bucket
        self.prefix = prefix
        self.retention_days = retention_days
        self.mode = mode
        self.client = client or _s3_client()
        if create_bucket:
            self.ensure_bucket()

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def ensure_bucket(self) -> None:
        """Create the bucket with Object Lock enabled if it is missing (demo and tests only:
        production buckets are made by infrastructure code, with a default retention)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError:
                region = self.client.meta.region_name
                extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
                self.client.create_bucket(Bucket=self.bucket, ObjectLockEnabledForBucket=True, **extra)
        except (BotoCoreError, ClientError) as exc:
            raise SinkError(f"{self.describe()}: {exc}") from exc

    def put(self, name: str, data: bytes) -> SinkEntry:
        from botocore.exceptions import BotoCoreError, ClientError

        until = datetime.now(UTC) + timedelta(days=self.retention_days)
        try:
            response = self.client.put_object(
                Bucket=self.bucket,
                Key=self.prefix + name,
                Body=data,
                ContentType="application/json",
                IfNoneMatch="*",
                ObjectLockMode=self.mode,
                ObjectLockRetainUntilDate=until,
                ChecksumAlgorithm="SHA256",
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in {"PreconditionFailed", "ConditionalRequestConflict"}:
                raise AnchorExists(name) from exc
            raise SinkError(f"{self.describe()}{name}: {code or exc}") from exc
        except BotoCoreError as exc:
            raise SinkError(f"{self.describe()}{name}: {exc}") from exc
        return SinkEntry(name, response.get("VersionId"))

    def entries(self, prefix: str, *, start_after: str = "") -> list[SinkEntry]:
        """Every name under ``prefix`` after ``start_after``, with its oldest version.

        S3 lists the versions of a key newest first, in the order they were stored; that order,
        not ``LastModified`` (whole seconds), tells the locked original from a later overwrite."""
        versions: dict[str, list[str]] = {}
        for page in self._version_pages(self.prefix + prefix, self.prefix + start_after if start_after else ""):
            for version in page.get("Versions", []):
                name = version["Key"][len(self.prefix) :]
                if name > start_after:
                    versions.setdefault(name, []).append(version["VersionId"])
        return [SinkEntry(name, versions[name][-1], len(versions[name]) - 1) for name in sorted(versions)]

    def _version_pages(self, prefix: str, key_marker: str) -> Iterator[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if key_marker:
            kwargs["KeyMarker"] = key_marker
        try:
            yield from self.client.get_paginator("list_object_versions").paginate(**kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise SinkError(f"{self.describe()}: {exc}") from exc

    def read(self, entry: SinkEntry) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self.prefix + entry.name}
        if entry.version:
            kwargs["VersionId"] = entry.version
        try:
            return bytes(self.client.get_object(**kwargs)["Body"].read())
        except (BotoCoreError, ClientError) as exc:
            raise SinkError(f"{self.describe()}{entry.name}: {exc}") from exc


def _s3_client() -> Any:
    import boto3

    endpoint = settings.ENCLAVE_AWS_ENDPOINT_URL or None
    return boto3.session.Session().client("s3", region_name=settings.AWS_REGION, endpoint_url=endpoint)


def get_sink() -> Sink | None:
    """The configured sink, or ``None`` when anchoring is off (``ENCLAVE_AUDIT_ANCHOR_SINK=none``)."""
    kind = settings.ENCLAVE_AUDIT_ANCHOR_SINK
    if kind == "none":
        return None
    if kind == "directory":
        return DirectorySink(Path(settings.ENCLAVE_AUDIT_ANCHOR_DIR))
    if kind == "s3":
        if not settings.ENCLAVE_AUDIT_ANCHOR_BUCKET:
            raise ImproperlyConfigured("ENCLAVE_AUDIT_ANCHOR_SINK=s3 needs ENCLAVE_AUDIT_ANCHOR_BUCKET")
        return S3ObjectLockSink(
            settings.ENCLAVE_AUDIT_ANCHOR_BUCKET,
            prefix=settings.ENCLAVE_AUDIT_ANCHOR_PREFIX,
            retention_days=settings.ENCLAVE_AUDIT_ANCHOR_RETENTION_DAYS,
            mode=settings.ENCLAVE_AUDIT_ANCHOR_LOCK_MODE,
            create_bucket=settings.ENCLAVE_AUDIT_ANCHOR_CREATE_BUCKET,
        )
    raise ImproperlyConfigured(f"ENCLAVE_AUDIT_ANCHOR_SINK must be s3, directory or none, not {kind!r}")
