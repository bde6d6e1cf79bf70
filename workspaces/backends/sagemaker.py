"""The AWS SageMaker backend: one hardened notebook instance per workspace, with its own execution role.

Owns every boto3 call Enclave makes (SageMaker, IAM, STS) and the translation of AWS errors into
``CloudError``s a data scientist can read. Names derive from ``WorkspaceSpec.resource_name`` so every
step can adopt what an earlier, interrupted attempt already built.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC
from typing import Any

import boto3
from botocore.config import Config
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
    CloudConflict,
    CloudError,
    CloudQuotaExceeded,
    CloudRef,
    CloudState,
    CloudStatus,
    DataGrantSpec,
    GrantRef,
    InvalidCloudRequest,
    Provider,
    Throttled,
    TransientCloudError,
    WorkspaceSpec,
)

logger = logging.getLogger(__name__)

MANAGED_TAG = ("enclave:managed", "true")
BASE_POLICY_NAME = "enclave-base"
GRANT_POLICY_PREFIX = "enclave-grant-"
SESSION_SECONDS_MIN = 1800  # CreatePresignedNotebookInstanceUrl's own bounds
SESSION_SECONDS_MAX = 43200
LIFECYCLE_SCRIPT_MAX_CHARS = 16384  # per script, after base64 encoding
NOTEBOOK_LOG_GROUP = "/aws/sagemaker/NotebookInstances"

_STATES = {
    "Pending": CloudState.PENDING,
    "InService": CloudState.RUNNING,
    "Stopping": CloudState.STOPPING,
    "Stopped": CloudState.STOPPED,
    "Failed": CloudState.FAILED,
    "Deleting": CloudState.DELETING,
    "Updating": CloudState.PENDING,
}
_THROTTLING = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
_ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
_TRANSIENT = {"ServiceUnavailable", "ServiceUnavailableException", "InternalFailure", "InternalServerError"}
_QUOTA = {"LimitExceeded", "LimitExceededException"}
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")


def _aws_message(error: ClientError) -> str:
    message = str(error.response.get("Error", {}).get("Message") or "").strip()
    return _ACCESS_KEY_ID.sub("[access key]", message)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code") or "")


def _is_not_found(error: ClientError) -> bool:
    message = _aws_message(error)
    return _error_code(error) == "ValidationException" and ("RecordNotFound" in message or "does not exist" in message)


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
    code = _error_code(error)
    aws_message = _aws_message(error)
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    detail = f" AWS said: {aws_message}" if aws_message else ""
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


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _tag_dict(tags: Iterable[Mapping[str, str]]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags}


_AUTOSTOP_PY = r'''
"""Enclave idle auto-stop: stop this notebook instance once Jupyter has been idle long enough."""
import datetime, json, os, shutil, ssl, subprocess, sys, urllib.request

IDLE_MINUTES = int(sys.argv[1])
STATE = "/home/ec2-user/.enclave/idle-since"
now = datetime.datetime.now(datetime.timezone.utc)


def parse(ts):
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))


context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE  # Jupyter's own self-signed certificate on localhost
try:
    with urllib.request.urlopen("https://localhost:8443/api/sessions", context=context, timeout=10) as reply:
        sessions = json.load(reply)
except OSError as exc:
    sys.exit(f"Jupyter not reachable yet: {exc}")

kernels = [s["kernel"] for s in sessions if s.get("kernel")]
if any(k.get("execution_state") == "busy" for k in kernels):
    last_activity = now
elif kernels:
    last_activity = max(parse(k["last_activity"]) for k in kernels)
else:
    if not os.path.exists(STATE):
        with open(STATE, "w") as handle:
            handle.write(now.isoformat())
    with open(STATE) as handle:
        last_activity = parse(handle.read().strip())
if kernels and os.path.exists(STATE):
    os.remove(STATE)

idle = now - last_activity
if idle < datetime.timedelta(minutes=IDLE_MINUTES):
    sys.exit(0)
with open("/opt/ml/metadata/resource-metadata.json") as handle:
    metadata = json.load(handle)
name = metadata["ResourceName"]
region = metadata["ResourceArn"].split(":")[3]
aws = shutil.which("aws") or "/usr/local/bin/aws"
print(f"{now.isoformat()} idle for {idle}; stopping notebook instance {name}", flush=True)
subprocess.run([aws, "sagemaker", "stop-notebook-instance", "--region", region,
                "--notebook-instance-name", name], check=True)
'''.lstrip()


def lifecycle_on_start_script(idle_stop_minutes: int, extra_script: str = "") -> str:
    """The OnStart script: install the idle auto-stop (checked by cron every 5 minutes), then the template's own.

    Lifecycle scripts run as root even with ``RootAccess=Disabled``; the template's extra script runs
    last, in a subshell, so it cannot switch the auto-stop off by exiting early.
    """
    script = f"""#!/bin/bash
set -euo pipefail
# Enclave baseline: stop the notebook instance after {idle_stop_minutes} idle minutes.
mkdir -p /home/ec2-user/.enclave
cat > /home/ec2-user/.enclave/autostop.py <<'ENCLAVE_AUTOSTOP'
{_AUTOSTOP_PY}ENCLAVE_AUTOSTOP
chmod 0755 /home/ec2-user/.enclave/autostop.py
echo "*/5 * * * * root /usr/bin/python3 /home/ec2-user/.enclave/autostop.py {int(idle_stop_minutes)} \
>> /var/log/enclave-autostop.log 2>&1" > /etc/cron.d/enclave-autostop
chmod 0644 /etc/cron.d/enclave-autostop
"""
    if extra_script.strip():
        script += f"\n# Template's own start-up steps.\n(\n{extra_script.rstrip()}\n)\n"
    return script


_SESSION_LOCK = threading.Lock()
_SESSIONS: list[boto3.session.Session] = []


def _session() -> boto3.session.Session:
    """One boto3 session per process (call under ``_SESSION_LOCK``): its loader parses each service model once."""
    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


class SageMakerBackend:
    """``WorkspaceBackend`` for AWS SageMaker notebook instances (plain boto3, credentials from boto3's chain)."""

    provider = Provider.AWS_SAGEMAKER

    def __init__(
        self,
        *,
        region: str,
        endpoint_url: str | None,
        session_seconds_max: int = SESSION_SECONDS_MAX,
        max_attempts: int = 5,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url or None
        self.session_seconds_max = session_seconds_max
        self._config = Config(
            retries={"mode": "standard", "max_attempts": max_attempts}, connect_timeout=10, read_timeout=60
        )
        self._clients: dict[str, Any] = {}
        self._identity: tuple[str, str] | None = None

    @classmethod
    def from_settings(cls) -> SageMakerBackend:
        """Configured from Django settings: ``AWS_REGION`` and ``ENCLAVE_AWS_ENDPOINT_URL`` ("" = real AWS)."""
        from django.conf import settings

        return cls(
            region=getattr(settings, "AWS_REGION", "eu-west-1"),
            endpoint_url=getattr(settings, "ENCLAVE_AWS_ENDPOINT_URL", "") or None,
            session_seconds_max=int(getattr(settings, "ENCLAVE_AWS_SESSION_SECONDS_MAX", SESSION_SECONDS_MAX)),
        )

    # --- clients and identity -----------------------------------------------------------------------------

    def _client(self, service: str) -> Any:
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
    def _sagemaker(self) -> Any:
        return self._client("sagemaker")

    @property
    def _iam(self) -> Any:
        return self._client("iam")

    def _account(self) -> tuple[str, str]:
        """(partition, account id) of the portal's own AWS identity."""
        if self._identity is None:
            with aws_errors("identify the portal's AWS account"):
                arn = self._client("sts").get_caller_identity()["Arn"]
            parts = arn.split(":")
            self._identity = (parts[1], parts[4])
        return self._identity

    # --- names ----------------------------------------------------------------------------------------------

    @staticmethod
    def _role_name(ref_or_name: CloudRef | str) -> str:
        if isinstance(ref_or_name, CloudRef):
            return ref_or_name.extra.get("role_name") or f"{ref_or_name.resource_name}-role"
        return f"{ref_or_name}-role"

    @staticmethod
    def _lifecycle_name(ref_or_name: CloudRef | str) -> str:
        if isinstance(ref_or_name, CloudRef):
            return ref_or_name.extra.get("lifecycle_config") or f"{ref_or_name.resource_name}-lc"
        return f"{ref_or_name}-lc"

    def _ref(self, name: str, arn: str, role_arn: str, lifecycle_config: str) -> CloudRef:
        return CloudRef(
            provider=self.provider,
            resource_name=name,
            resource_id=arn,
            extra={
                "role_name": role_arn.rsplit("/", 1)[-1] if role_arn else self._role_name(name),
                "role_arn": role_arn,
                "lifecycle_config": lifecycle_config or self._lifecycle_name(name),
            },
        )

    # --- provisioning ---------------------------------------------------------------------------------------

    def provision(self, spec: WorkspaceSpec) -> CloudRef:
        """Build the role, the lifecycle configuration and the notebook instance, adopting any that exist.

        Idempotent: an instance already named ``spec.resource_name`` is adopted as is (whatever state it is
        in), so a retried task never creates a second one. Does not wait for ``InService``.
        """
        hardening = spec.hardening
        name = spec.resource_name
        existing = self._describe_raw(name)
        if existing is not None:
            return self._ref_from(existing)

        tags = {**spec.tags, MANAGED_TAG[0]: MANAGED_TAG[1]}
        lifecycle_content = self._lifecycle_content(hardening)
        role_arn = self._ensure_role(name, hardening, tags)
        lifecycle_config = self._ensure_lifecycle_config(name, lifecycle_content)
        request: dict[str, Any] = {
            "NotebookInstanceName": name,
            "InstanceType": spec.instance_type,
            "SubnetId": hardening["subnet_id"],
            "SecurityGroupIds": list(hardening["security_group_ids"]),
            "RoleArn": role_arn,
            "KmsKeyId": hardening["kms_key_id"],
            "LifecycleConfigName": lifecycle_config,
            "DirectInternetAccess": hardening["direct_internet_access"],
            "RootAccess": hardening["root_access"],
            "VolumeSizeInGB": spec.volume_size_gb,
            "PlatformIdentifier": hardening.get("platform_identifier") or "notebook-al2-v3",
            "Tags": _tag_list(tags),
        }
        with aws_errors("create the notebook instance"):
            try:
                arn = self._sagemaker.create_notebook_instance(**request)["NotebookInstanceArn"]
            except ClientError as exc:
                message = _aws_message(exc)
                if _error_code(exc) != "ValidationException":
                    raise
                if "already exists" in message or "duplicate" in message.lower():
                    adopted = self._describe_raw(name)
                    if adopted is not None:
                        return self._ref_from(adopted)
                if "assume" in message.lower():
                    raise TransientCloudError(
                        "The workspace's new execution role is not usable by SageMaker yet (IAM changes take a few "
                        f"seconds to spread); it will try again. AWS said: {message}",
                        provider_code="RoleNotYetAssumable",
                    ) from exc
                raise
        logger.info("created SageMaker notebook instance %s", name)
        return self._ref(name, arn, role_arn, lifecycle_config)

    def _ensure_role(self, name: str, hardening: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        """The workspace's execution role: trusted by SageMaker only, fenced by the permissions boundary."""
        role_name = self._role_name(name)
        boundary = hardening["permissions_boundary_arn"]
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        with aws_errors("create the workspace's execution role"):
            try:
                role = self._iam.create_role(
                    RoleName=role_name,
                    AssumeRolePolicyDocument=json.dumps(trust),
                    Description=f"Enclave workspace {name}: notebook execution role",
                    PermissionsBoundary=boundary,
                    Tags=_tag_list(tags),
                )["Role"]
            except ClientError as exc:
                if _error_code(exc) != "EntityAlreadyExists":
                    raise
                role = self._iam.get_role(RoleName=role_name)["Role"]
                if role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn") != boundary:
                    self._iam.put_role_permissions_boundary(RoleName=role_name, PermissionsBoundary=boundary)
            self._iam.put_role_policy(
                RoleName=role_name,
                PolicyName=BASE_POLICY_NAME,
                PolicyDocument=json.dumps(self._base_policy(name, hardening["kms_key_id"])),
            )
        return str(role["Arn"])

    def _base_policy(self, name: str, kms_key_id: str) -> dict[str, Any]:
        """Least privilege for a notebook: its own logs, its template's key, and stopping itself when idle."""
        partition, account = self._account()
        key_arn = kms_key_id
        if not key_arn.startswith("arn:"):
            key_arn = f"arn:{partition}:kms:{self.region}:{account}:key/{kms_key_id}"
        log_group = f"arn:{partition}:logs:{self.region}:{account}:log-group:{NOTEBOOK_LOG_GROUP}"
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "NotebookLogs",
                    "Effect": "Allow",
                    "Action": [
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:DescribeLogStreams",
                        "logs:PutLogEvents",
                    ],
                    "Resource": [log_group, f"{log_group}:log-stream:{name}/*"],
                },
                {
                    "Sid": "TemplateKey",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": key_arn,
                },
                {
                    "Sid": "IdleAutoStop",
                    "Effect": "Allow",
                    "Action": ["sagemaker:DescribeNotebookInstance", "sagemaker:StopNotebookInstance"],
                    "Resource": f"arn:{partition}:sagemaker:{self.region}:{account}:notebook-instance/{name.lower()}",
                },
            ],
        }

    @staticmethod
    def _lifecycle_content(hardening: Mapping[str, Any]) -> str:
        """The base64 OnStart script, refused before anything is built if AWS would reject its length."""
        script = lifecycle_on_start_script(
            int(hardening.get("idle_stop_minutes", 60)), hardening.get("extra_lifecycle_script", "")
        )
        content = base64.b64encode(script.encode()).decode()
        if len(content) > LIFECYCLE_SCRIPT_MAX_CHARS:
            raise InvalidCloudRequest(
                "The template's extra lifecycle script is too long: with Enclave's idle auto-stop it exceeds AWS's "
                f"limit of {LIFECYCLE_SCRIPT_MAX_CHARS} base64 characters ({len(content)}). Shorten the script.",
                provider_code="LifecycleScriptTooLong",
            )
        return content

    def _ensure_lifecycle_config(self, name: str, content: str) -> str:
        config_name = self._lifecycle_name(name)
        with aws_errors("create the notebook's start-up configuration"):
            try:
                self._sagemaker.create_notebook_instance_lifecycle_config(
                    NotebookInstanceLifecycleConfigName=config_name, OnStart=[{"Content": content}]
                )
            except ClientError as exc:
                if not (_error_code(exc) == "ValidationException" and "already exists" in _aws_message(exc)):
                    raise
        return config_name

    # --- reading state --------------------------------------------------------------------------------------

    def _describe_raw(self, name: str) -> dict[str, Any] | None:
        with aws_errors("look up the notebook instance"):
            try:
                return dict(self._sagemaker.describe_notebook_instance(NotebookInstanceName=name))
            except ClientError as exc:
                if _is_not_found(exc):
                    return None
                raise

    def _ref_from(self, described: Mapping[str, Any]) -> CloudRef:
        return self._ref(
            described["NotebookInstanceName"],
            described["NotebookInstanceArn"],
            described.get("RoleArn", ""),
            described.get("NotebookInstanceLifecycleConfigName", ""),
        )

    def _status(self, ref: CloudRef, described: Mapping[str, Any] | None, *, with_tags: bool = True) -> CloudStatus:
        if described is None:
            return CloudStatus(ref=ref, state=CloudState.DELETED, raw_status="")
        raw = str(described.get("NotebookInstanceStatus", ""))
        hardening = {
            "subnet_id": described.get("SubnetId", ""),
            "security_group_ids": list(described.get("SecurityGroups") or []),
            "kms_key_id": described.get("KmsKeyId", ""),
            "direct_internet_access": described.get("DirectInternetAccess", ""),
            "root_access": described.get("RootAccess", ""),
            "instance_type": described.get("InstanceType", ""),
            "volume_size_gb": described.get("VolumeSizeInGB"),
            "platform_identifier": described.get("PlatformIdentifier", ""),
            "lifecycle_config": described.get("NotebookInstanceLifecycleConfigName", ""),
            "role_arn": described.get("RoleArn", ""),
        }
        tags: dict[str, str] = {}
        arn = described.get("NotebookInstanceArn") or ref.resource_id
        if with_tags and arn and raw != "Deleting":
            tags = self._tags(arn)
        return CloudStatus(
            ref=ref if ref.resource_id else self._ref_from(described),
            state=_STATES.get(raw, CloudState.UNKNOWN),
            raw_status=raw,
            message=str(described.get("FailureReason") or "") if raw == "Failed" else "",
            hardening=hardening,
            tags=tags,
        )

    def _tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        with aws_errors("read the notebook instance's tags"):
            try:
                for page in self._sagemaker.get_paginator("list_tags").paginate(ResourceArn=arn):
                    tags.update(_tag_dict(page.get("Tags", [])))
            except ClientError as exc:
                if not _is_not_found(exc):
                    raise
        return tags

    def describe(self, ref: CloudRef) -> CloudStatus:
        """What AWS says now, with the hardening settings and tags read back from the instance itself."""
        return self._status(ref, self._describe_raw(ref.resource_name))

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self, ref: CloudRef) -> None:
        """Start a stopped (or failed) instance; a no-op while it is pending, updating or running.

        Raises ``CloudConflict`` (retryable) while it is still stopping, since AWS only starts a
        ``Stopped`` or ``Failed`` instance, and ``InvalidCloudRequest`` if it is gone or being deleted.
        """
        described = self._describe_raw(ref.resource_name)
        raw = (described or {}).get("NotebookInstanceStatus", "")
        if raw in ("Pending", "Updating", "InService"):
            return
        if raw == "Stopping":
            raise CloudConflict(
                "The notebook is still stopping; it can be started once it has stopped.", provider_code=raw
            )
        if described is None or raw == "Deleting":
            raise InvalidCloudRequest("The notebook instance no longer exists in AWS.", provider_code=raw or "NotFound")
        self._lifecycle_call("start_notebook_instance", ref.resource_name, "start the notebook instance")

    def stop(self, ref: CloudRef) -> None:
        """Stop a running instance; a no-op if it is stopping, stopped, failed, being deleted or gone.

        AWS cannot stop an instance that is still ``Pending``/``Updating``: that raises ``CloudConflict``
        (retryable), so the task tries again once it is in service.
        """
        described = self._describe_raw(ref.resource_name)
        raw = (described or {}).get("NotebookInstanceStatus", "")
        if raw in ("Pending", "Updating"):
            raise CloudConflict(
                "The notebook is still starting up; it can be stopped once it is running.", provider_code=raw
            )
        if raw != "InService":
            return
        self._lifecycle_call("stop_notebook_instance", ref.resource_name, "stop the notebook instance")

    def _lifecycle_call(self, method: str, name: str, doing: str) -> None:
        with aws_errors(doing):
            try:
                getattr(self._sagemaker, method)(NotebookInstanceName=name)
            except ClientError as exc:
                if _error_code(exc) == "ValidationException" and _aws_message(exc).startswith("Status ("):
                    raise CloudConflict(
                        f"The notebook changed state while Enclave tried to {doing}; it will try again. "
                        f"AWS said: {_aws_message(exc)}",
                        provider_code="StateChanged",
                    ) from exc
                raise

    def delete(self, ref: CloudRef) -> CloudStatus:
        """Advance deletion by one step and return the state it leaves the workspace in.

        Running → stop; stopped/failed → delete the instance; gone → delete the lifecycle configuration
        and the execution role (with every policy on it) and report ``DELETED``. While AWS is busy
        (pending, stopping, deleting) it only reports. Each step tolerates an earlier one having already
        happened, so duplicate or late calls are harmless.
        """
        name = ref.resource_name
        described = self._describe_raw(name)
        if described is None:
            self._delete_lifecycle_config(ref)
            self._delete_role(self._role_name(ref))
            return CloudStatus(ref=ref, state=CloudState.DELETED)
        raw = described.get("NotebookInstanceStatus", "")
        if raw == "InService":
            self._lifecycle_call("stop_notebook_instance", name, "stop the notebook instance before deleting it")
        elif raw in ("Stopped", "Failed"):
            self._lifecycle_call("delete_notebook_instance", name, "delete the notebook instance")
        else:
            return self._status(ref, described, with_tags=False)
        return self._status(ref, self._describe_raw(name), with_tags=False)

    def _delete_lifecycle_config(self, ref: CloudRef) -> None:
        with aws_errors("delete the notebook's start-up configuration"):
            try:
                self._sagemaker.delete_notebook_instance_lifecycle_config(
                    NotebookInstanceLifecycleConfigName=self._lifecycle_name(ref)
                )
            except ClientError as exc:
                if not _is_not_found(exc):
                    raise

    def _delete_role(self, role_name: str) -> None:
        def ignore_missing(call: Any, **kwargs: Any) -> Any:
            try:
                return call(**kwargs)
            except ClientError as exc:
                if _error_code(exc) != "NoSuchEntity":
                    raise
                return None

        with aws_errors("delete the workspace's execution role"):
            for page in self._paginate_or_empty("list_role_policies", RoleName=role_name):
                for policy_name in page.get("PolicyNames", []):
                    ignore_missing(self._iam.delete_role_policy, RoleName=role_name, PolicyName=policy_name)
            for page in self._paginate_or_empty("list_attached_role_policies", RoleName=role_name):
                for policy in page.get("AttachedPolicies", []):
                    ignore_missing(self._iam.detach_role_policy, RoleName=role_name, PolicyArn=policy["PolicyArn"])
            ignore_missing(self._iam.delete_role, RoleName=role_name)

    def _paginate_or_empty(self, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        try:
            yield from self._iam.get_paginator(operation).paginate(**kwargs)
        except ClientError as exc:
            if _error_code(exc) != "NoSuchEntity":
                raise

    # --- opening --------------------------------------------------------------------------------------------

    def open_url(self, ref: CloudRef, *, username: str, session_seconds: int) -> str:
        """A presigned Jupyter URL. The session lasts ``session_seconds`` clamped to AWS's 30 min–12 h range
        and to ``session_seconds_max``; the URL itself must be used within AWS's 5 minutes.

        ``username`` is not sent to AWS (a notebook instance has no per-user identity); the portal has
        already checked that it is the owner.
        """
        seconds = max(SESSION_SECONDS_MIN, min(session_seconds, self.session_seconds_max, SESSION_SECONDS_MAX))
        with aws_errors("open the notebook"):
            url = self._sagemaker.create_presigned_notebook_instance_url(
                NotebookInstanceName=ref.resource_name, SessionExpirationDurationInSeconds=seconds
            )["AuthorizedUrl"]
        logger.info("presigned notebook URL for %s (user %s, %ss)", ref.resource_name, username, seconds)
        return str(url)

    # --- data grants ----------------------------------------------------------------------------------------

    def grant_policy_document(self, grant: DataGrantSpec) -> dict[str, Any]:
        """Read-only access to one dataset prefix, valid only while ``aws:CurrentTime`` is before the expiry.

        The time condition makes AWS itself enforce the end of the grant even if the revoking task is late.
        """
        if not grant.location.startswith("s3://"):
            raise InvalidCloudRequest(f"Dataset {grant.dataset_slug} is not an S3 location ({grant.location}).")
        bucket, _, prefix = grant.location.removeprefix("s3://").partition("/")
        if not bucket:
            raise InvalidCloudRequest(f"Dataset {grant.dataset_slug} has no S3 bucket in its location.")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if grant.expires_at.tzinfo is None:
            raise ValueError("DataGrantSpec.expires_at must be timezone-aware")
        until = {"DateLessThan": {"aws:CurrentTime": grant.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}}
        partition, _ = self._account()
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadDatasetObjects",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject"],
                    "Resource": [f"arn:{partition}:s3:::{bucket}/{prefix}*"],
                    "Condition": until,
                },
                {
                    "Sid": "ListDatasetPrefix",
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket"],
                    "Resource": [f"arn:{partition}:s3:::{bucket}"],
                    "Condition": {**until, "StringLike": {"s3:prefix": [f"{prefix}*"]}},
                },
            ],
        }

    def grant_data_access(self, ref: CloudRef, grant: DataGrantSpec) -> GrantRef:
        """Put the grant's inline policy on the workspace role (an upsert, so repeating it is harmless)."""
        role_name = self._role_name(ref)
        policy_name = f"{GRANT_POLICY_PREFIX}{grant.grant_id}"
        document = self.grant_policy_document(grant)
        with aws_errors(f"give the workspace access to dataset {grant.dataset_slug}"):
            self._iam.put_role_policy(RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        return GrantRef(
            provider=self.provider,
            grant_id=grant.grant_id,
            details={"role_name": role_name, "policy_name": policy_name, "policy_document": document},
        )

    def revoke_data_access(self, ref: CloudRef, grant: GrantRef) -> None:
        """Delete the grant's policy from the role; a no-op if the policy or the role is already gone."""
        role_name = str(grant.details.get("role_name") or self._role_name(ref))
        policy_name = str(grant.details.get("policy_name") or f"{GRANT_POLICY_PREFIX}{grant.grant_id}")
        with aws_errors("remove the workspace's dataset access"):
            try:
                self._iam.delete_role_policy(RoleName=role_name, PolicyName=policy_name)
            except ClientError as exc:
                if _error_code(exc) != "NoSuchEntity":
                    raise

    # --- reconciliation -------------------------------------------------------------------------------------

    def inventory(self) -> Iterable[CloudStatus]:
        """Every notebook instance tagged ``enclave:managed=true`` in this account and region.

        One ``ListTags`` per instance (the list API returns no tags); ``hardening`` carries only what the
        list returns (instance type, lifecycle configuration) — ``describe`` reads the rest.
        """
        with aws_errors("list the notebook instances"):
            pages = list(self._sagemaker.get_paginator("list_notebook_instances").paginate())
        for page in pages:
            for summary in page.get("NotebookInstances", []):
                tags = self._tags(summary["NotebookInstanceArn"])
                if tags.get(MANAGED_TAG[0]) != MANAGED_TAG[1]:
                    continue
                raw = str(summary.get("NotebookInstanceStatus", ""))
                yield CloudStatus(
                    ref=self._ref(
                        summary["NotebookInstanceName"],
                        summary["NotebookInstanceArn"],
                        "",
                        summary.get("NotebookInstanceLifecycleConfigName", ""),
                    ),
                    state=_STATES.get(raw, CloudState.UNKNOWN),
                    raw_status=raw,
                    hardening={
                        "instance_type": summary.get("InstanceType", ""),
                        "lifecycle_config": summary.get("NotebookInstanceLifecycleConfigName", ""),
                    },
                    tags=tags,
                )


__all__ = ["SageMakerBackend", "aws_errors", "lifecycle_on_start_script", "translate_client_error"]
