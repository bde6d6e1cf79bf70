"""Azure SDK errors translated into the portal's ``CloudError`` vocabulary; the one place this mapping lives."""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from workspaces.backends.base import (
    CloudAccessDenied,
    CloudConflict,
    CloudError,
    CloudQuotaExceeded,
    InvalidCloudRequest,
    Throttled,
    TransientCloudError,
)

_SECRETS = re.compile(r"(Bearer\s+)\S+|eyJ[\w-]+\.[\w-]+\.[\w-]*", re.IGNORECASE)


def _retry_after(err: HttpResponseError) -> float | None:
    response: Any = err.response
    headers = response.headers if response is not None else {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def error_code_and_message(err: HttpResponseError) -> tuple[str, str]:
    if err.error is not None and (err.error.code or err.error.message):
        return err.error.code or "", err.error.message or ""
    try:
        response: Any = err.response
        body = response.json() if response is not None else {}
        error = body.get("error") or {}
        return str(error.get("code") or ""), str(error.get("message") or "")
    except (ValueError, AttributeError):
        return "", err.reason or ""


def to_cloud_error(err: AzureError, action: str) -> CloudError:
    """Translate an Azure SDK error into the portal's vocabulary; the one place this mapping lives.

    The message is safe to store and show: Azure's own words plus what Enclave
    was doing, with anything resembling a bearer token removed.
    """
    if not isinstance(err, HttpResponseError) or err.status_code is None:
        if isinstance(err, ClientAuthenticationError):
            return CloudAccessDenied(_redact(f"Enclave could not sign in to Azure to {action}: {err.message}"))
        if isinstance(err, ServiceRequestError | ServiceResponseError):
            return TransientCloudError(f"Azure could not be reached to {action}; it will be retried.")
        return TransientCloudError(_redact(f"Azure failed to {action}: {err.message}"))

    status = err.status_code
    code, message = error_code_and_message(err)
    text = _redact(f"Azure refused to {action}: {message or err.reason or 'no reason given'}")
    if code:
        text += f" ({code})"
    lowered_code, lowered_message = code.lower(), message.lower()
    if status == 429:
        retry_after = _retry_after(err)
        return Throttled(text, provider_code=code or "TooManyRequests", retry_after=retry_after)
    if "quota" in lowered_code or (
        status in (400, 403, 409)
        and lowered_code in ("operationnotallowed", "badrequest", "")
        and "quota" in lowered_message
    ):
        return CloudQuotaExceeded(text, provider_code=code)
    if status in (401, 403):
        return CloudAccessDenied(text, provider_code=code)
    if status == 409:
        return CloudConflict(text, provider_code=code, retry_after=_retry_after(err))
    if status == 408 or status >= 500:
        return TransientCloudError(text, provider_code=code, retry_after=_retry_after(err))
    return InvalidCloudRequest(text, provider_code=code)


def _redact(text: str) -> str:
    return _SECRETS.sub(lambda m: (m.group(1) or "") + "<redacted>", text)


@contextmanager
def translated(action: str) -> Iterator[None]:
    try:
        yield
    except AzureError as err:
        raise to_cloud_error(err, action) from err
