"""AWS errors in the portal's words: the one mapping from botocore's exceptions to ``CloudError``s.

Every boto3 call of the SageMaker backend runs under :func:`aws_errors`, so a data scientist reads what
was being attempted and what AWS said, with access key ids masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from workspaces.backends.base import (
    CloudAccessDenied,
    CloudError,
    CloudQuotaExceeded,
    InvalidCloudRequest,
    Throttled,
    TransientCloudError,
)

_THROTTLING = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
_ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
_TRANSIENT = {"ServiceUnavailable", "ServiceUnavailableException", "InternalFailure", "InternalServerError"}
_QUOTA = {"LimitExceeded", "LimitExceededException"}
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")


def aws_message(error: ClientError) -> str:
    message = str(error.response.get("Error", {}).get("Message") or "").strip()
    return _ACCESS_KEY_ID.sub("[access key]", message)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code") or "")


def is_not_found(error: ClientError) -> bool:
    message = aws_message(error)
    return error_code(error) == "ValidationException" and ("RecordNotFound" in message or "does not exist" in message)


def _retry_after(error: ClientError) -> float | None:
    headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    try:
        if "x-amz-retry-after" in headers:
            return int(headers["x-amz-retry-after"]) / 1000.0
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:
        pass
    return None


def translate_client_error(error: ClientError, doing: str) -> CloudError:
    """The one mapping from an AWS error to the portal's ``CloudError`` vocabulary.

    ``doing`` says, in a data scientist's words, what was being attempted ("create the notebook
    instance"). AWS's own message is kept (it names the limit, parameter or action at fault); access
    key ids are masked should one ever appear, and nothing else from the request is included.
    """
    code = error_code(error)
    said = aws_message(error)
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    detail = f" AWS said: {said}" if said else ""
    if code == "ResourceLimitExceeded":
        return CloudQuotaExceeded(
            "AWS refused: the account's limit for this instance type is reached (ResourceLimitExceeded). "
            "Stop or delete another notebook, choose a smaller size, or ask the platform team to raise the limit."
            f"{detail}",
            provider_code=code,
        )
    if code in _QUOTA:
        return CloudQuotaExceeded(
            f"AWS refused to {doing}: an account limit is reached ({code}).{detail}", provider_code=code
        )
    if code in _THROTTLING:
        return Throttled(
            f"AWS is throttling requests, so Enclave could not {doing} yet; it will try again.{detail}",
            provider_code=code,
            retry_after=_retry_after(error),
        )
    if code in _ACCESS_DENIED:
        return CloudAccessDenied(
            f"The portal's AWS identity is not allowed to {doing} ({code}); the platform team must fix its IAM "
            f"permissions.{detail}",
            provider_code=code,
        )
    if code in _TRANSIENT or status >= 500:
        return TransientCloudError(
            f"AWS had a temporary problem and could not {doing}; it will try again.{detail}",
            provider_code=code or str(status),
        )
    if code == "ValidationException":
        return InvalidCloudRequest(
            f"AWS rejected the request to {doing}:{detail or ' (no reason given)'}", provider_code=code
        )
    return CloudError(f"AWS could not {doing} ({code or status}).{detail}", provider_code=code)


@contextmanager
def aws_errors(doing: str) -> Iterator[None]:
    """Run boto3 calls, re-raising anything that goes wrong as a ``CloudError`` (see ``translate_client_error``)."""
    try:
        yield
    except ClientError as exc:
        raise translate_client_error(exc, doing) from exc
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError) as exc:
        raise TransientCloudError(
            f"Enclave could not reach AWS to {doing}; it will try again.", provider_code=type(exc).__name__
        ) from exc
    except NoCredentialsError as exc:
        raise CloudAccessDenied(
            f"The portal has no AWS credentials, so it cannot {doing}; the platform team must configure them.",
            provider_code="NoCredentials",
        ) from exc
    except BotoCoreError as exc:
        raise CloudError(f"Enclave could not {doing}: {type(exc).__name__}.", provider_code=type(exc).__name__) from exc
