"""Dataset grants on Azure: role assignments for a compute's managed identity at a storage scope."""

from __future__ import annotations

import re
import uuid
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

from workspaces.backends.azureml.client import AUTHORIZATION_API_VERSION
from workspaces.backends.azureml.errors import error_code_and_message, translated
from workspaces.backends.azureml.locations import ComputeLocation
from workspaces.backends.azureml.status import principal_id_of
from workspaces.backends.base import CloudConflict, CloudRef, DataGrantSpec, GrantRef, InvalidCloudRequest, Provider

STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"

_GRANT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://enclave/azure/role-assignments")


class RoleAssignments:
    """The grant half of ``AzureMLBackend``: mixed in, it needs ``_authz`` and ``_get_compute`` from the backend."""

    def _authz(self, subscription_id: str) -> AuthorizationManagementClient:
        raise NotImplementedError

    def _get_compute(self, loc: ComputeLocation) -> dict[str, Any] | None:
        raise NotImplementedError

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
        with translated(f"grant read access to {grant.dataset_slug}"):
            if not principal_id:
                resource = self._get_compute(ComputeLocation.from_ref(ref))
                principal_id = principal_id_of(resource) if resource else ""
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
                if err.status_code != 409 or error_code_and_message(err)[0] != "RoleAssignmentExists":
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
                "api_version": AUTHORIZATION_API_VERSION,
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
        with translated("revoke read access"):
            try:
                self._authz(subscription_id).role_assignments.delete(scope, name)
            except ResourceNotFoundError:
                return
