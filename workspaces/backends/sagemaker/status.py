"""What SageMaker says about a notebook instance, in the portal's words: references, states and hardening.

Pure functions from AWS's response dicts to ``CloudRef``/``CloudStatus`` (no AWS calls), shared by
``describe`` and ``inventory``. Names derive from the workspace's resource name so every step can adopt
what an earlier, interrupted attempt already built.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from workspaces.backends.base import CloudRef, CloudState, CloudStatus, Provider

MANAGED_TAG = ("enclave:managed", "true")

_STATES = {
    "Pending": CloudState.PENDING,
    "InService": CloudState.RUNNING,
    "Stopping": CloudState.STOPPING,
    "Stopped": CloudState.STOPPED,
    "Failed": CloudState.FAILED,
    "Deleting": CloudState.DELETING,
    "Updating": CloudState.PENDING,
}


def tag_dict(tags: Iterable[Mapping[str, str]]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags}


def role_name(ref_or_name: CloudRef | str) -> str:
    if isinstance(ref_or_name, CloudRef):
        return ref_or_name.extra.get("role_name") or f"{ref_or_name.resource_name}-role"
    return f"{ref_or_name}-role"


def lifecycle_name(ref_or_name: CloudRef | str) -> str:
    if isinstance(ref_or_name, CloudRef):
        return ref_or_name.extra.get("lifecycle_config") or f"{ref_or_name.resource_name}-lc"
    return f"{ref_or_name}-lc"


def make_ref(name: str, arn: str, role_arn: str, lifecycle_config: str) -> CloudRef:
    return CloudRef(
        provider=Provider.AWS_SAGEMAKER,
        resource_name=name,
        resource_id=arn,
        extra={
            "role_name": role_arn.rsplit("/", 1)[-1] if role_arn else role_name(name),
            "role_arn": role_arn,
            "lifecycle_config": lifecycle_config or lifecycle_name(name),
        },
    )


def ref_from(described: Mapping[str, Any]) -> CloudRef:
    return make_ref(
        described["NotebookInstanceName"],
        described["NotebookInstanceArn"],
        described.get("RoleArn", ""),
        described.get("NotebookInstanceLifecycleConfigName", ""),
    )


def status_from(ref: CloudRef, described: Mapping[str, Any] | None, tags: Mapping[str, str]) -> CloudStatus:
    """A ``DescribeNotebookInstance`` answer (``None``: not found) with the hardening settings read back."""
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
    return CloudStatus(
        ref=ref if ref.resource_id else ref_from(described),
        state=_STATES.get(raw, CloudState.UNKNOWN),
        raw_status=raw,
        message=str(described.get("FailureReason") or "") if raw == "Failed" else "",
        hardening=hardening,
        tags=dict(tags),
    )


def status_from_summary(summary: Mapping[str, Any], tags: Mapping[str, str]) -> CloudStatus:
    """A ``ListNotebookInstances`` entry: ``hardening`` carries only what the list returns."""
    raw = str(summary.get("NotebookInstanceStatus", ""))
    return CloudStatus(
        ref=make_ref(
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
        tags=dict(tags),
    )
