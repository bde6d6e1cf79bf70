"""S3 Object Lock as AWS enforces it, in front of moto (which stores retention but lets it be weakened).

moto already refuses to delete a locked object version and honours ``If-None-Match: *``; what it
lacks is the rule that protects the retention itself: AWS refuses ``PutObjectRetention`` that
shortens a compliance-mode retention, changes its mode, or removes it — for every caller, the
account's root included — and allows it for governance mode only with
``x-amz-bypass-governance-retention: true``. Without that rule "write-once" in the stand-in would
be one API call from deletable. This WSGI layer adds it (path-style requests, which is what
boto3 sends to an endpoint URL); everything else passes through to moto untouched.
"""

from __future__ import annotations

import io
import os
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
App = Callable[[Environ, StartResponse], Iterable[bytes]]


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _retention_from(body: bytes) -> tuple[str | None, datetime | None]:
    if not body.strip():
        return None, None
    root = ET.fromstring(body)  # a local stand-in parsing its own client's request
    mode = until = None
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "Mode":
            mode = (element.text or "").strip() or None
        elif tag == "RetainUntilDate":
            until = _parse_time(element.text)
    return mode, until


def _access_denied(start_response: StartResponse, message: str) -> list[bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        f"<Message>{message}</Message><RequestId>{uuid.uuid4()}</RequestId></Error>"
    ).encode()
    start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _account_id(environ: Environ) -> str:
    from moto.iam.models import get_account_id_from

    credential = environ.get("HTTP_AUTHORIZATION", "").split("Credential=", 1)[-1].split(",", 1)[0]
    access_key = credential.split("/")[0] if credential else ""
    return os.environ.get("MOTO_ACCOUNT_ID") or environ.get("HTTP_X_MOTO_ACCOUNT_ID") or get_account_id_from(access_key)


def _locked_key(environ: Environ, bucket: str, key: str, version_id: str | None) -> Any:
    from moto.s3.models import s3_backends

    backend = s3_backends[_account_id(environ)]["aws"]
    try:
        return backend.get_object(bucket, key, version_id=version_id)
    except Exception:  # unknown bucket, key or version: let moto answer as it does
        return None


def weakening(
    current_mode: str | None, current_until: datetime | None, mode: str | None, until: datetime | None
) -> str:
    """Why a new retention would weaken the current one ("" if it does not)."""
    if current_mode not in {"COMPLIANCE", "GOVERNANCE"} or current_until is None:
        return ""
    if current_until <= datetime.now(UTC):
        return ""  # the retention has ended: the object is no longer protected
    if mode is None or until is None:
        return "the retention cannot be removed"
    if mode != current_mode:
        return f"the retention mode cannot change from {current_mode} to {mode}"
    if until < current_until:
        return "the retention period cannot be shortened"
    return ""


class ObjectLockGuard:
    """WSGI middleware refusing what AWS refuses on object-locked versions."""

    def __init__(self, app: App) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if environ.get("REQUEST_METHOD") == "PUT" and "retention" in query:
            refusal = self._retention_refusal(environ, query)
            if refusal:
                message = f"Access Denied because object protected by object lock: {refusal}"
                return _access_denied(start_response, message)
        return self.app(environ, start_response)

    def _retention_refusal(self, environ: Environ, query: dict[str, list[str]]) -> str:
        parts = unquote(environ.get("PATH_INFO", "")).lstrip("/").split("/", 1)
        if len(parts) != 2 or not parts[1]:
            return ""
        bucket, key = parts
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        version = query.get("versionId", [""])[0] or None
        locked = _locked_key(environ, bucket, key, version)
        if locked is None:
            return ""
        mode, until = _retention_from(body)
        current_mode = getattr(locked, "lock_mode", None)
        reason = weakening(current_mode, _parse_time(getattr(locked, "lock_until", None)), mode, until)
        bypass = environ.get("HTTP_X_AMZ_BYPASS_GOVERNANCE_RETENTION", "").lower() == "true"
        if reason and current_mode == "GOVERNANCE" and bypass:
            return ""
        return reason
