"""``AzureMLBackend``: the workspace operations on an Azure ML compute instance (see the package docstring)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any, cast

from azure.core.credentials import TokenCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.machinelearningservices import MachineLearningServicesMgmtClient

from workspaces.backends.azureml.body import MANAGED_TAG, build_compute_instance_body
from workspaces.backends.azureml.client import (
    API_VERSION,
    AUTHORIZATION_API_VERSION,
    MAX_INLINE_RETRY_AFTER,
    PUBLIC_ARM_ENDPOINT,
    RETRY_TOTAL,
    StaticTokenCredential,
    client_kwargs,
    raw_json,
)
from workspaces.backends.azureml.errors import translated
from workspaces.backends.azureml.grants import RoleAssignments
from workspaces.backends.azureml.locations import ComputeLocation, compute_name_for, parse_known_workspaces
from workspaces.backends.azureml.status import (
    ALREADY_STARTED,
    ALREADY_STOPPED,
    REQUESTED_IDLE,
    assigned_user_of,
    principal_id_of,
    status_from_resource,
)
from workspaces.backends.base import (
    CloudRef,
    CloudState,
    CloudStatus,
    InvalidCloudRequest,
    Provider,
    WorkspaceSpec,
)


class AzureMLBackend(RoleAssignments):
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
        return client_kwargs(
            arm_endpoint=self._arm_endpoint,
            connection_verify=self._connection_verify,
            retry_total=self._retry_total,
            max_retry_after=self._max_retry_after,
        )

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
        """The compute's ``API_VERSION`` JSON, or ``None`` if Azure has no such compute."""
        with self._lock:
            self._workspaces.add((loc.subscription_id, loc.resource_group, loc.workspace_name))
        try:
            resource = self._ml(loc.subscription_id).machine_learning_compute.get(
                loc.resource_group, loc.workspace_name, loc.compute_name, cls=raw_json
            )
        except ResourceNotFoundError:
            return None
        return cast(dict[str, Any], resource)

    def _post_action(self, loc: ComputeLocation, action: str) -> None:
        """POST start/stop: a 202 long-running operation at ``API_VERSION``, started and not awaited."""
        request = HttpRequest("POST", f"{loc.arm_id}/{action}", params={"api-version": API_VERSION})
        response = self._ml(loc.subscription_id)._send_request(request)
        if response.status_code not in (200, 202):
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)

    def _delete_compute(self, loc: ComputeLocation) -> int:
        """DELETE the compute and its VM; the status code. 204 (and 404) mean Azure has no such compute.

        Sent through the pipeline rather than the typed ``begin_delete``, which
        accepts only 200/202 and would turn the published 204 — the compute
        vanished between our read and our delete — into an error.
        """
        params = {"api-version": API_VERSION, "underlyingResourceAction": "Delete"}
        response = self._ml(loc.subscription_id)._send_request(HttpRequest("DELETE", loc.arm_id, params=params))
        if response.status_code not in (200, 202, 204, 404):
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        return response.status_code

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
        with translated("create the compute instance"):
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
                        cls=raw_json,
                    )
                    resource = cast(dict[str, Any], poller.result())
                except HttpResponseError as err:
                    if err.status_code != 409:
                        raise
                    resource = self._get_compute(loc)
                    if resource is None:
                        raise
        owner = assigned_user_of(resource)
        if owner and owner.lower() != spec.owner_cloud_id.lower():
            raise InvalidCloudRequest(
                f"A compute instance named {loc.compute_name!r} already exists in {loc.workspace_name!r} "
                "and is assigned to someone else; Enclave will not adopt it."
            )
        idle = str(body["properties"]["properties"]["idleTimeBeforeShutdown"])
        return loc.to_ref(principal_id_of(resource), **{REQUESTED_IDLE: idle, "api_version": API_VERSION})

    def describe(self, ref: CloudRef) -> CloudStatus:
        loc = ComputeLocation.from_ref(ref)
        with translated("read the compute instance"):
            resource = self._get_compute(loc)
        if resource is None:
            return CloudStatus(ref=ref, state=CloudState.DELETED, raw_status="NotFound")
        return status_from_resource(ref, resource)

    def start(self, ref: CloudRef) -> None:
        self._change_power(ref, "start", ALREADY_STARTED)

    def stop(self, ref: CloudRef) -> None:
        self._change_power(ref, "stop", ALREADY_STOPPED)

    def _change_power(self, ref: CloudRef, action: str, already: frozenset[CloudState]) -> None:
        loc = ComputeLocation.from_ref(ref)
        with translated(f"{action} the compute instance"):
            resource = self._get_compute(loc)
            if resource is None:
                raise InvalidCloudRequest(f"The compute instance {loc.compute_name!r} no longer exists in Azure.")
            if status_from_resource(ref, resource).state in already:
                return
            self._post_action(loc, action)

    def delete(self, ref: CloudRef) -> CloudStatus:
        """One step: ask Azure to delete the compute and its VM; ``DELETED`` once Azure no longer has it."""
        loc = ComputeLocation.from_ref(ref)
        with translated("delete the compute instance"):
            resource = self._get_compute(loc)
            if resource is None:
                return CloudStatus(ref=ref, state=CloudState.DELETED, raw_status="NotFound")
            status = status_from_resource(ref, resource)
            if status.state is CloudState.DELETING:
                return status
            if self._delete_compute(loc) in (204, 404):
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

    def inventory(self) -> Iterable[CloudStatus]:
        """Compute instances tagged ``enclave:managed=true`` in every known Azure ML workspace.

        The backend has no database, so "known" means ``ENCLAVE_AZURE_WORKSPACES``
        plus every workspace this process has touched; reconciliation should run
        with the former set to all workspaces templates point at.
        """
        with self._lock:
            workspaces = sorted(self._workspaces)
        for subscription_id, resource_group, workspace_name in workspaces:
            with translated(f"list the compute instances of {workspace_name}"):
                resources = list(self._list_computes(subscription_id, resource_group, workspace_name))
            for resource in resources:
                compute = resource.get("properties") or {}
                if compute.get("computeType") != "ComputeInstance":
                    continue
                if str((resource.get("tags") or {}).get(MANAGED_TAG, "")).lower() != "true":
                    continue
                loc = ComputeLocation(subscription_id, resource_group, workspace_name, str(resource.get("name")))
                yield status_from_resource(loc.to_ref(principal_id_of(resource)), resource)
