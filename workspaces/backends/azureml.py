"""The Azure ML backend: a workspace is a personal, hardened Azure ML compute instance.

It owns every call Enclave makes to Azure Resource Manager for workspaces — the
compute instance (azure-mgmt-machinelearningservices) and the dataset role
assignments of its managed identity (azure-mgmt-authorization) — and the
translation of Azure's errors into the portal's ``CloudError`` vocabulary.

API version: the installed SDK's typed models stop at 2020-08-01, which cannot
express ``enableNodePublicIp`` or ``idleTimeBeforeShutdown``. Rather than drop
two baseline controls, every compute call uses api-version 2024-04-01: the
create body is built as 2024-04-01 JSON by ``build_compute_instance_body`` and
sent as bytes, responses are read as raw JSON (the 2020-08-01 models would
silently discard the same fields on the way back), and start/stop — typed in the
SDK as synchronous 200-only calls, but 202 long-running operations in
2024-04-01 — go through the client's own pipeline via ``_send_request``. Every
request thus still gets the SDK's authentication, retry and logging policies.

Nothing here waits for Azure: long-running operations are started with
``polling=False`` (a polling ``LROPoller`` would start a background thread) and
the portal observes progress by calling ``describe`` again later.
"""

from __future__ import annotations

import email.utils
import hashlib
import io
import json
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, cast

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import RetryPolicy
from azure.core.rest import HttpRequest
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.machinelearningservices import MachineLearningServicesMgmtClient
from pydantic import ValidationError

from catalog.specs import AzureMLSpec
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

API_VERSION = "2024-04-01"
AUTHORIZATION_API_VERSION = "2022-04-01"
PUBLIC_ARM_ENDPOINT = "https://management.azure.com"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
MANAGED_TAG = "enclave:managed"
WORKSPACE_TAG = "enclave:workspace-id"

# Retry budget inside one backend call. azure-core retries 408/429/5xx and honours
# Retry-After; a small total keeps a worker from being parked for minutes, and a
# Retry-After longer than MAX_INLINE_RETRY_AFTER is not slept at all: the caller
# gets ``Throttled(retry_after=...)`` and the task re-schedules itself instead.
RETRY_TOTAL = 2
MAX_INLINE_RETRY_AFTER = 10.0

_GRANT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://enclave/azure/role-assignments")
_COMPUTE_NAME = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_FORBIDDEN_TAG_CHARS = re.compile(r"[<>%&\\?/]")
_SECRETS = re.compile(r"(Bearer\s+)\S+|eyJ[\w-]+\.[\w-]+\.[\w-]*", re.IGNORECASE)

_INSTANCE_STATES: dict[str, CloudState] = {
    "creating": CloudState.PENDING,
    "settingup": CloudState.PENDING,
    "usersettingup": CloudState.PENDING,
    "running": CloudState.RUNNING,
    "jobrunning": CloudState.RUNNING,
    "stopping": CloudState.STOPPING,
    "stopped": CloudState.STOPPED,
    "starting": CloudState.STARTING,
    "restarting": CloudState.STARTING,
    "deleting": CloudState.DELETING,
    "createfailed": CloudState.FAILED,
    "setupfailed": CloudState.FAILED,
    "usersetupfailed": CloudState.FAILED,
    "unusable": CloudState.FAILED,
    "unknown": CloudState.FAILED,
    "unknownstate": CloudState.FAILED,
}
_ALREADY_STARTED = frozenset({CloudState.PENDING, CloudState.RUNNING, CloudState.STARTING})
_ALREADY_STOPPED = frozenset({CloudState.STOPPING, CloudState.STOPPED})


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


class _BoundedRetryPolicy(RetryPolicy):
    """azure-core's retry policy, except that it never sleeps on a Retry-After above ``max_retry_after``."""

    def __init__(self, *, max_retry_after: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_retry_after = max_retry_after

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after is not None and retry_after > self._max_retry_after:
            return False
        return bool(super().is_retry(settings, response))


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
        parsed = _parse_compute_id(ref.resource_id)
        if parsed is None:
            raise InvalidCloudRequest(f"The workspace's Azure reference is incomplete ({ref.resource_id!r}).")
        return parsed

    def to_ref(self, principal_id: str = "") -> CloudRef:
        extra = {
            "subscription_id": self.subscription_id,
            "resource_group": self.resource_group,
            "workspace_name": self.workspace_name,
            "compute_name": self.compute_name,
        }
        if principal_id:
            extra["principal_id"] = principal_id
        return CloudRef(
            provider=Provider.AZURE_ML, resource_name=self.compute_name, resource_id=self.arm_id, extra=extra
        )


def _parse_compute_id(resource_id: str) -> ComputeLocation | None:
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


def build_compute_instance_body(spec: WorkspaceSpec, *, tenant_id: str) -> dict[str, Any]:
    """The 2024-04-01 ``ComputeResource`` body for ``spec``'s compute instance, validated before anything is sent.

    The body carries the security baseline: the template's subnet, no public IP
    on the node, public SSH closed, a *personal* instance assigned to the
    owner's Entra object id (nobody else can open its applications), idle
    shutdown, the mandatory tags plus ``enclave:managed=true`` (what
    ``inventory`` looks for), and a system-assigned managed identity that dataset
    grants are given to. The customer-managed key is a property of the Azure ML
    workspace itself, not of a compute instance, so it is not part of this body.

    Raises ``InvalidCloudRequest`` listing every problem, so a bad template or
    configuration is reported once instead of as Azure's first complaint.
    """
    try:
        hardening = AzureMLSpec.model_validate(dict(spec.hardening))
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "spec" for e in exc.errors())
        raise InvalidCloudRequest(f"The template's Azure ML settings are invalid ({fields}).") from exc

    problems: list[str] = []
    if spec.instance_type not in hardening.allowed_vm_sizes:
        problems.append(f"VM size {spec.instance_type!r} is not allowed by the template")
    if not _GUID.match(spec.owner_cloud_id):
        problems.append(f"{spec.owner_username!r} has no Entra object id to assign the compute instance to")
    if not _GUID.match(tenant_id):
        problems.append("the Entra tenant id (AZURE_TENANT_ID) is not configured")
    if hardening.ssh_public_access == "Enabled":
        problems.append("public SSH needs an administrator key, which Enclave does not issue")
    tags = {**spec.tags, MANAGED_TAG: "true"}
    tags.setdefault(WORKSPACE_TAG, spec.workspace_id)
    if len(tags) > 50:
        problems.append("Azure allows at most 50 tags")
    for key, value in tags.items():
        if not 1 <= len(key) <= 512 or _FORBIDDEN_TAG_CHARS.search(key) or len(value) > 256:
            problems.append(f"tag {key!r} is not a valid Azure tag")
    if problems:
        raise InvalidCloudRequest("Cannot create the compute instance: " + "; ".join(problems) + ".")

    return {
        "location": hardening.location,
        "tags": tags,
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "computeType": "ComputeInstance",
            "description": f"Enclave workspace {spec.workspace_id}",
            "properties": {
                "vmSize": spec.instance_type,
                "subnet": {"id": hardening.subnet_id},
                "enableNodePublicIp": hardening.enable_node_public_ip,
                "sshSettings": {"sshPublicAccess": hardening.ssh_public_access},
                "applicationSharingPolicy": "Personal",
                "computeInstanceAuthorizationType": "personal",
                "personalComputeInstanceSettings": {
                    "assignedUser": {"objectId": spec.owner_cloud_id, "tenantId": tenant_id}
                },
                "idleTimeBeforeShutdown": f"PT{hardening.idle_shutdown_minutes}M",
            },
        },
    }


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


def _error_code_and_message(err: HttpResponseError) -> tuple[str, str]:
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
    code, message = _error_code_and_message(err)
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
def _translated(action: str) -> Iterator[None]:
    try:
        yield
    except AzureError as err:
        raise to_cloud_error(err, action) from err


def _raw_json(pipeline_response: PipelineResponse[Any, Any], _deserialized: Any, _headers: Any) -> Any:
    """``cls`` hook: keep the 2024-04-01 JSON instead of the SDK's 2020-08-01 model."""
    return pipeline_response.http_response.json()


def _instance(resource: Mapping[str, Any]) -> dict[str, Any]:
    return dict((resource.get("properties") or {}).get("properties") or {})


def _assigned_user(resource: Mapping[str, Any]) -> str:
    settings = _instance(resource).get("personalComputeInstanceSettings") or {}
    return str((settings.get("assignedUser") or {}).get("objectId") or "")


def _principal_id(resource: Mapping[str, Any]) -> str:
    return str((resource.get("identity") or {}).get("principalId") or "")


def _messages(resource: Mapping[str, Any]) -> str:
    compute = resource.get("properties") or {}
    entries = [*(compute.get("provisioningErrors") or []), *(_instance(resource).get("errors") or [])]
    found: list[str] = []
    for entry in entries:
        error = entry.get("error", entry) if isinstance(entry, dict) else {}
        message = str(error.get("message") or error.get("code") or "")
        if message and message not in found:
            found.append(message)
    return "; ".join(found)


def status_from_resource(ref: CloudRef, resource: Mapping[str, Any]) -> CloudStatus:
    """What a 2024-04-01 compute resource says about a workspace, normalised.

    ``provisioningState`` Failed or Deleting outranks the instance state; the
    returned ``ref`` carries the managed identity's principal id once Azure has
    assigned it, so the portal can store it for later grants.
    """
    compute = resource.get("properties") or {}
    instance = _instance(resource)
    provisioning = str(compute.get("provisioningState") or "")
    raw = str(instance.get("state") or provisioning or "Unknown")
    if provisioning.lower() in ("failed", "canceled"):
        state = CloudState.FAILED
        raw = instance.get("state") or provisioning
    elif provisioning.lower() == "deleting":
        state, raw = CloudState.DELETING, "Deleting"
    elif instance.get("state"):
        state = _INSTANCE_STATES.get(raw.lower(), CloudState.UNKNOWN)
    elif provisioning.lower() in ("creating", "updating", ""):
        state = CloudState.PENDING
    else:
        state = CloudState.UNKNOWN
    message = ""
    if state is CloudState.FAILED:
        message = _messages(resource) or f"Azure reports the compute instance as {raw}."

    identity = resource.get("identity") or {}
    hardening = {
        "vm_size": instance.get("vmSize"),
        "subnet_id": (instance.get("subnet") or {}).get("id"),
        "enable_node_public_ip": instance.get("enableNodePublicIp"),
        "ssh_public_access": (instance.get("sshSettings") or {}).get("sshPublicAccess"),
        "assigned_user_object_id": _assigned_user(resource) or None,
        "idle_time_before_shutdown": instance.get("idleTimeBeforeShutdown"),
        "identity_type": identity.get("type"),
    }
    principal_id = _principal_id(resource)
    if principal_id and ref.extra.get("principal_id") != principal_id:
        ref = CloudRef(ref.provider, ref.resource_name, ref.resource_id, {**ref.extra, "principal_id": principal_id})
    return CloudStatus(
        ref=ref,
        state=state,
        raw_status=raw,
        message=message,
        hardening=hardening,
        tags=dict(resource.get("tags") or {}),
    )


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


class AzureMLBackend:
    """``WorkspaceBackend`` for Azure ML compute instances (see the module docstring for the API-version choice)."""

    provider = Provider.AZURE_ML

    def __init__(
        self,
        *,
        arm_endpoint: str | None,
        credential: TokenCredential,
        connection_verify: str | bool = True,
        tenant_id: str = "",
        studio_url: str = "https://ml.azure.com",
        known_workspaces: Iterable[tuple[str, str, str]] = (),
        retry_total: int = RETRY_TOTAL,
        max_retry_after: float = MAX_INLINE_RETRY_AFTER,
    ) -> None:
        self._arm_endpoint = (arm_endpoint or PUBLIC_ARM_ENDPOINT).rstrip("/")
        self._credential = credential
        self._connection_verify = connection_verify
        self._tenant_id = tenant_id
        self._studio_url = studio_url.rstrip("/")
        self._workspaces: set[tuple[str, str, str]] = set(known_workspaces)
        self._retry_total = retry_total
        self._max_retry_after = max_retry_after
        self._lock = threading.Lock()
        self._ml_clients: dict[str, MachineLearningServicesMgmtClient] = {}
        self._authz_clients: dict[str, AuthorizationManagementClient] = {}

    @classmethod
    def from_settings(cls) -> AzureMLBackend:
        """Build from Django settings.

        ``ENCLAVE_AZURE_ARM_ENDPOINT`` overrides ARM (empty: the public cloud);
        ``ENCLAVE_AZURE_CA_BUNDLE`` is the CA file to trust for it;
        ``ENCLAVE_AZURE_STATIC_TOKEN`` is honoured only together with an endpoint
        override, so a stray token can never be sent to the real Azure, which
        always uses ``DefaultAzureCredential`` (workload identity, managed
        identity, environment). ``ENCLAVE_AZURE_WORKSPACES`` lists workspaces for
        ``inventory`` (see ``parse_known_workspaces``).
        """
        from azure.identity import DefaultAzureCredential
        from django.conf import settings

        endpoint = getattr(settings, "ENCLAVE_AZURE_ARM_ENDPOINT", "") or None
        token = getattr(settings, "ENCLAVE_AZURE_STATIC_TOKEN", "")
        credential: TokenCredential = StaticTokenCredential(token) if endpoint and token else DefaultAzureCredential()
        return cls(
            arm_endpoint=endpoint,
            credential=credential,
            connection_verify=getattr(settings, "ENCLAVE_AZURE_CA_BUNDLE", "") or True,
            tenant_id=getattr(settings, "AZURE_TENANT_ID", ""),
            studio_url=getattr(settings, "ENCLAVE_AZURE_STUDIO_URL", "") or "https://ml.azure.com",
            known_workspaces=parse_known_workspaces(getattr(settings, "ENCLAVE_AZURE_WORKSPACES", "")),
        )

    # --- clients ---------------------------------------------------------------------

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self._arm_endpoint,
            "connection_verify": self._connection_verify,
            "retry_policy": _BoundedRetryPolicy(
                max_retry_after=self._max_retry_after,
                retry_total=self._retry_total,
                retry_backoff_factor=0.5,
                retry_backoff_max=8,
            ),
            "connection_timeout": 10,
            "read_timeout": 60,
        }

    def _ml(self, subscription_id: str) -> MachineLearningServicesMgmtClient:
        with self._lock:
            client = self._ml_clients.get(subscription_id)
            if client is None:
                client = MachineLearningServicesMgmtClient(
                    self._credential, subscription_id, api_version=API_VERSION, **self._client_kwargs()
                )
                self._ml_clients[subscription_id] = client
            return client

    def _authz(self, subscription_id: str) -> AuthorizationManagementClient:
        with self._lock:
            client = self._authz_clients.get(subscription_id)
            if client is None:
                client = AuthorizationManagementClient(
                    self._credential, subscription_id, api_version=AUTHORIZATION_API_VERSION, **self._client_kwargs()
                )
                self._authz_clients[subscription_id] = client
            return client

    # --- raw compute calls -------------------------------------------------------------

    def _get_compute(self, loc: ComputeLocation) -> dict[str, Any] | None:
        """The compute's 2024-04-01 JSON, or ``None`` if Azure has no such compute."""
        with self._lock:
            self._workspaces.add((loc.subscription_id, loc.resource_group, loc.workspace_name))
        try:
            resource = self._ml(loc.subscription_id).machine_learning_compute.get(
                loc.resource_group, loc.workspace_name, loc.compute_name, cls=_raw_json
            )
        except ResourceNotFoundError:
            return None
        return cast(dict[str, Any], resource)

    def _post_action(self, loc: ComputeLocation, action: str) -> None:
        """POST start/stop: a 202 long-running operation in 2024-04-01, started and not awaited."""
        request = HttpRequest("POST", f"{loc.arm_id}/{action}", params={"api-version": API_VERSION})
        response = self._ml(loc.subscription_id)._send_request(request)
        if response.status_code not in (200, 202):
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)

    def _list_computes(self, subscription_id: str, resource_group: str, workspace_name: str) -> Iterator[Any]:
        client = self._ml(subscription_id)
        url: str | None = (
            f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace_name}/computes"
        )
        params: dict[str, str] | None = {"api-version": API_VERSION}
        while url:
            response = client._send_request(HttpRequest("GET", url, params=params))
            if response.status_code != 200:
                raise HttpResponseError(response=response, error_format=ARMErrorFormat)
            page = response.json()
            yield from page.get("value") or []
            url, params = page.get("nextLink"), None

    # --- WorkspaceBackend ----------------------------------------------------------------

    def provision(self, spec: WorkspaceSpec) -> CloudRef:
        """Create the owner's compute instance, or adopt the one already there; never waits for it.

        A compute with the derived name that is assigned to someone else is never
        adopted: that would hand one user another's notebook.
        """
        body = build_compute_instance_body(spec, tenant_id=self._tenant_id)
        hardening = spec.hardening
        loc = ComputeLocation(
            str(hardening["subscription_id"]),
            str(hardening["resource_group"]),
            str(hardening["workspace_name"]),
            compute_name_for(spec.resource_name),
        )
        with _translated("create the compute instance"):
            resource = self._get_compute(loc)
            if resource is None:
                try:
                    poller = self._ml(loc.subscription_id).machine_learning_compute.begin_create_or_update(
                        loc.resource_group,
                        loc.workspace_name,
                        loc.compute_name,
                        io.BytesIO(json.dumps(body).encode()),
                        content_type="application/json",
                        polling=False,
                        cls=_raw_json,
                    )
                    resource = cast(dict[str, Any], poller.result())
                except HttpResponseError as err:
                    if err.status_code != 409:
                        raise
                    resource = self._get_compute(loc)
                    if resource is None:
                        raise
        owner = _assigned_user(resource)
        if owner and owner.lower() != spec.owner_cloud_id.lower():
            raise InvalidCloudRequest(
                f"A compute instance named {loc.compute_name!r} already exists in {loc.workspace_name!r} "
                "and is assigned to someone else; Enclave will not adopt it."
            )
        return loc.to_ref(_principal_id(resource))

    def describe(self, ref: CloudRef) -> CloudStatus:
        loc = ComputeLocation.from_ref(ref)
        with _translated("read the compute instance"):
            resource = self._get_compute(loc)
        if resource is None:
            return CloudStatus(ref=ref, state=CloudState.DELETED, raw_status="NotFound")
        return status_from_resource(ref, resource)

    def start(self, ref: CloudRef) -> None:
        self._change_power(ref, "start", _ALREADY_STARTED)

    def stop(self, ref: CloudRef) -> None:
        self._change_power(ref, "stop", _ALREADY_STOPPED)

    def _change_power(self, ref: CloudRef, action: str, already: frozenset[CloudState]) -> None:
        loc = ComputeLocation.from_ref(ref)
        with _translated(f"{action} the compute instance"):
            resource = self._get_compute(loc)
            if resource is None:
                raise InvalidCloudRequest(f"The compute instance {loc.compute_name!r} no longer exists in Azure.")
            if status_from_resource(ref, resource).state in already:
                return
            self._post_action(loc, action)

    def delete(self, ref: CloudRef) -> CloudStatus:
        """One step: ask Azure to delete the compute and its VM; ``DELETED`` once Azure no longer has it."""
        loc = ComputeLocation.from_ref(ref)
        with _translated("delete the compute instance"):
            resource = self._get_compute(loc)
            if resource is None:
                return CloudStatus(ref=ref, state=CloudState.DELETED, raw_status="NotFound")
            status = status_from_resource(ref, resource)
            if status.state is CloudState.DELETING:
                return status
            try:
                self._ml(loc.subscription_id).machine_learning_compute.begin_delete(
                    loc.resource_group,
                    loc.workspace_name,
                    loc.compute_name,
                    underlying_resource_action="Delete",
                    polling=False,
                )
            except ResourceNotFoundError:
                return CloudStatus(ref=status.ref, state=CloudState.DELETED, raw_status="NotFound")
        return replace(status, state=CloudState.DELETING, raw_status="Deleting", message="")

    def open_url(self, ref: CloudRef, *, username: str, session_seconds: int) -> str:
        """The Azure ML studio page of the compute instance.

        Not a bearer link: studio makes the user sign in with Entra ID (MFA and
        conditional access apply), and only the assigned user can open a
        personal compute instance's applications, so ``username`` and
        ``session_seconds`` need not be encoded; Entra's session governs.
        """
        loc = ComputeLocation.from_ref(ref)
        url = f"{self._studio_url}/compute/{loc.compute_name}/details?wsid={loc.workspace_id}"
        return f"{url}&tid={self._tenant_id}" if self._tenant_id else url

    def grant_data_access(self, ref: CloudRef, grant: DataGrantSpec) -> GrantRef:
        """Storage Blob Data Reader for the compute's managed identity at the dataset's scope.

        The assignment name is a UUID derived from ``grant_id``, so a retried task
        finds its own assignment (``RoleAssignmentExists`` is adoption). Azure role
        assignments cannot expire by themselves: removal at ``expires_at`` is the
        expiry task's job, via ``revoke_data_access``.
        """
        scope = grant.location.rstrip("/")
        m = re.match(r"^/subscriptions/([^/]+)(/|$)", scope, re.IGNORECASE)
        if m is None:
            raise InvalidCloudRequest(f"Dataset {grant.dataset_slug!r} has no Azure storage scope ({scope!r}).")
        subscription_id = m.group(1)
        role_definition_id = (
            f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/"
            f"{STORAGE_BLOB_DATA_READER}"
        )
        name = str(uuid.uuid5(_GRANT_NAMESPACE, grant.grant_id))
        principal_id = ref.extra.get("principal_id") or ""
        with _translated(f"grant read access to {grant.dataset_slug}"):
            if not principal_id:
                resource = self._get_compute(ComputeLocation.from_ref(ref))
                principal_id = _principal_id(resource) if resource else ""
            if not principal_id:
                raise CloudConflict("The compute instance has no managed identity yet; the grant will be retried.")
            parameters = RoleAssignmentCreateParameters(
                role_definition_id=role_definition_id,
                principal_id=principal_id,
                principal_type="ServicePrincipal",
                description=(
                    f"Enclave grant {grant.grant_id}: read {grant.dataset_slug} until {grant.expires_at.isoformat()}"
                ),
            )
            operations = self._authz(subscription_id).role_assignments
            try:
                assignment = operations.create(scope, name, parameters)
            except HttpResponseError as err:
                if err.status_code != 409 or _error_code_and_message(err)[0] != "RoleAssignmentExists":
                    raise
                assignment = self._existing_assignment(operations, scope, name, principal_id, role_definition_id)
        return GrantRef(
            provider=Provider.AZURE_ML,
            grant_id=grant.grant_id,
            details={
                "scope": scope,
                "role_definition_id": role_definition_id,
                "assignment_id": assignment.id,
                "assignment_name": assignment.name,
                "principal_id": principal_id,
                "expires_at": grant.expires_at.isoformat(),
            },
        )

    @staticmethod
    def _existing_assignment(operations: Any, scope: str, name: str, principal_id: str, role_definition_id: str) -> Any:
        """The assignment that made Azure answer ``RoleAssignmentExists``: ours by name, or the same grant under
        another name (the identity already holds exactly this role at this scope)."""
        try:
            return operations.get(scope, name)
        except ResourceNotFoundError:
            pass
        for assignment in operations.list_for_scope(scope, filter=f"principalId eq '{principal_id}'"):
            if (assignment.scope or "").lower() == scope.lower() and (
                assignment.role_definition_id or ""
            ).lower() == role_definition_id.lower():
                return assignment
        raise CloudConflict("Azure reports the role assignment exists but it cannot be found; it will be retried.")

    def revoke_data_access(self, ref: CloudRef, grant: GrantRef) -> None:
        scope = str(grant.details.get("scope") or "")
        if not scope:
            raise InvalidCloudRequest(f"Grant {grant.grant_id} has no recorded Azure scope to revoke from.")
        name = str(grant.details.get("assignment_name") or uuid.uuid5(_GRANT_NAMESPACE, grant.grant_id))
        m = re.match(r"^/subscriptions/([^/]+)", scope, re.IGNORECASE)
        subscription_id = m.group(1) if m else ComputeLocation.from_ref(ref).subscription_id
        with _translated("revoke read access"):
            try:
                self._authz(subscription_id).role_assignments.delete(scope, name)
            except ResourceNotFoundError:
                return

    def inventory(self) -> Iterable[CloudStatus]:
        """Compute instances tagged ``enclave:managed=true`` in every known Azure ML workspace.

        The backend has no database, so "known" means ``ENCLAVE_AZURE_WORKSPACES``
        plus every workspace this process has touched; reconciliation should run
        with the former set to all workspaces templates point at.
        """
        with self._lock:
            workspaces = sorted(self._workspaces)
        for subscription_id, resource_group, workspace_name in workspaces:
            with _translated(f"list the compute instances of {workspace_name}"):
                resources = list(self._list_computes(subscription_id, resource_group, workspace_name))
            for resource in resources:
                compute = resource.get("properties") or {}
                if compute.get("computeType") != "ComputeInstance":
                    continue
                if str((resource.get("tags") or {}).get(MANAGED_TAG, "")).lower() != "true":
                    continue
                loc = ComputeLocation(subscription_id, resource_group, workspace_name, str(resource.get("name")))
                yield status_from_resource(loc.to_ref(_principal_id(resource)), resource)
