"""The AWS SageMaker backend: one hardened notebook instance per workspace, with its own execution role.

The operations of ``WorkspaceBackend``, composed from the rest of this package: boto3 clients
(``clients``), AWS errors in the portal's words (``errors``), the execution role (``roles``, ``policies``),
the idle-stop start-up script (``lifecycle``) and AWS's answers read as ``CloudStatus`` (``status``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from workspaces.backends.base import (
    CloudConflict,
    CloudRef,
    CloudState,
    CloudStatus,
    DataGrantSpec,
    GrantRef,
    InvalidCloudRequest,
    Provider,
    TransientCloudError,
    WorkspaceSpec,
)
from workspaces.backends.sagemaker.clients import AwsClients
from workspaces.backends.sagemaker.errors import aws_errors, aws_message, error_code, is_not_found
from workspaces.backends.sagemaker.lifecycle import lifecycle_content
from workspaces.backends.sagemaker.policies import GRANT_POLICY_PREFIX
from workspaces.backends.sagemaker.policies import grant_policy_document as _grant_policy_document
from workspaces.backends.sagemaker.roles import ExecutionRoles, tag_list
from workspaces.backends.sagemaker.status import (
    MANAGED_TAG,
    lifecycle_name,
    make_ref,
    ref_from,
    role_name,
    status_from,
    status_from_summary,
    tag_dict,
)

logger = logging.getLogger(__name__)

SESSION_SECONDS_MIN = 1800  # CreatePresignedNotebookInstanceUrl's own bounds
SESSION_SECONDS_MAX = 43200


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
        self._aws = AwsClients(region=region, endpoint_url=self.endpoint_url, max_attempts=max_attempts)
        self._roles = ExecutionRoles(self._aws)

    @classmethod
    def from_settings(cls) -> SageMakerBackend:
        """Configured from Django settings: ``AWS_REGION`` and ``ENCLAVE_AWS_ENDPOINT_URL`` ("" = real AWS)."""
        from django.conf import settings

        return cls(
            region=getattr(settings, "AWS_REGION", "eu-west-1"),
            endpoint_url=getattr(settings, "ENCLAVE_AWS_ENDPOINT_URL", "") or None,
            session_seconds_max=int(getattr(settings, "ENCLAVE_AWS_SESSION_SECONDS_MAX", SESSION_SECONDS_MAX)),
        )

    @property
    def _sagemaker(self) -> Any:
        return self._aws.sagemaker

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
            return ref_from(existing)

        tags = {**spec.tags, MANAGED_TAG[0]: MANAGED_TAG[1]}
        content = lifecycle_content(hardening)
        role_arn = self._roles.ensure(role_name(name), name, hardening, tags)
        lifecycle_config = self._ensure_lifecycle_config(name, content)
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
            "Tags": tag_list(tags),
        }
        with aws_errors("create the notebook instance"):
            try:
                arn = self._sagemaker.create_notebook_instance(**request)["NotebookInstanceArn"]
            except ClientError as exc:
                message = aws_message(exc)
                if error_code(exc) != "ValidationException":
                    raise
                if "already exists" in message or "duplicate" in message.lower():
                    adopted = self._describe_raw(name)
                    if adopted is not None:
                        return ref_from(adopted)
                if "assume" in message.lower():
                    raise TransientCloudError(
                        "The workspace's new execution role is not usable by SageMaker yet (IAM changes take a few "
                        f"seconds to spread); it will try again. AWS said: {message}",
                        provider_code="RoleNotYetAssumable",
                    ) from exc
                raise
        logger.info("created SageMaker notebook instance %s", name)
        return make_ref(name, arn, role_arn, lifecycle_config)

    def _ensure_lifecycle_config(self, name: str, content: str) -> str:
        config_name = lifecycle_name(name)
        with aws_errors("create the notebook's start-up configuration"):
            try:
                self._sagemaker.create_notebook_instance_lifecycle_config(
                    NotebookInstanceLifecycleConfigName=config_name, OnStart=[{"Content": content}]
                )
            except ClientError as exc:
                if not (error_code(exc) == "ValidationException" and "already exists" in aws_message(exc)):
                    raise
        return config_name

    # --- reading state --------------------------------------------------------------------------------------

    def _describe_raw(self, name: str) -> dict[str, Any] | None:
        with aws_errors("look up the notebook instance"):
            try:
                return dict(self._sagemaker.describe_notebook_instance(NotebookInstanceName=name))
            except ClientError as exc:
                if is_not_found(exc):
                    return None
                raise

    def _status(self, ref: CloudRef, described: Mapping[str, Any] | None, *, with_tags: bool = True) -> CloudStatus:
        tags: dict[str, str] = {}
        arn = (described or {}).get("NotebookInstanceArn") or ref.resource_id
        if described is not None and with_tags and arn and described.get("NotebookInstanceStatus") != "Deleting":
            tags = self._tags(arn)
        return status_from(ref, described, tags)

    def _tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        with aws_errors("read the notebook instance's tags"):
            try:
                for page in self._sagemaker.get_paginator("list_tags").paginate(ResourceArn=arn):
                    tags.update(tag_dict(page.get("Tags", [])))
            except ClientError as exc:
                if not is_not_found(exc):
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
                if error_code(exc) == "ValidationException" and aws_message(exc).startswith("Status ("):
                    raise CloudConflict(
                        f"The notebook changed state while Enclave tried to {doing}; it will try again. "
                        f"AWS said: {aws_message(exc)}",
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
            self._roles.delete(role_name(ref))
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
                    NotebookInstanceLifecycleConfigName=lifecycle_name(ref)
                )
            except ClientError as exc:
                if not is_not_found(exc):
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
        """The grant's inline policy (see ``policies.grant_policy_document``) in this account's partition."""
        partition, _ = self._aws.account()
        return _grant_policy_document(grant, partition=partition)

    def grant_data_access(self, ref: CloudRef, grant: DataGrantSpec) -> GrantRef:
        """Put the grant's inline policy on the workspace role (an upsert, so repeating it is harmless)."""
        role = role_name(ref)
        policy_name = f"{GRANT_POLICY_PREFIX}{grant.grant_id}"
        document = self.grant_policy_document(grant)
        doing = f"give the workspace access to dataset {grant.dataset_slug}"
        self._roles.put_policy(role, policy_name, document, doing)
        return GrantRef(
            provider=self.provider,
            grant_id=grant.grant_id,
            details={"role_name": role, "policy_name": policy_name, "policy_document": document},
        )

    def revoke_data_access(self, ref: CloudRef, grant: GrantRef) -> None:
        """Delete the grant's policy from the role; a no-op if the policy or the role is already gone."""
        role = str(grant.details.get("role_name") or role_name(ref))
        policy_name = str(grant.details.get("policy_name") or f"{GRANT_POLICY_PREFIX}{grant.grant_id}")
        self._roles.delete_policy(role, policy_name, "remove the workspace's dataset access")

    # --- catalog checks -------------------------------------------------------------------------------------

    def boundary_policy_exists(self, arn: str) -> bool | None:
        """Whether the permissions boundary policy ``arn`` exists in IAM and can be attached to a role.

        ``None`` when the portal cannot tell (its identity may not read IAM policies, or AWS is unreachable):
        the catalog calls this when a template version is published, so a template naming a boundary IAM
        would refuse is caught before anyone requests a workspace from it.
        """
        return self._roles.policy_exists(arn)

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
                if tags.get(MANAGED_TAG[0]) == MANAGED_TAG[1]:
                    yield status_from_summary(summary, tags)
