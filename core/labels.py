"""People's words for the codes the system stores: states, providers, classifications and spec fields.

One registry, so every page says the same thing; the raw code stays available to auditors
(pages show it in a tooltip). Lookups never fail: an unknown code is shown humanised.
"""

from __future__ import annotations

PROVIDERS: dict[str, str] = {
    "aws_sagemaker": "AWS SageMaker",
    "azure_ml": "Azure Machine Learning",
}

STATES: dict[str, str] = {
    # workspaces
    "requested": "Requested",
    "pending_approval": "Pending approval",
    "approved": "Approved",
    "rejected": "Rejected",
    "provisioning": "Provisioning",
    "running": "Running",
    "stopping": "Stopping",
    "stopped": "Stopped",
    "starting": "Starting",
    "deleting": "Deleting",
    "deleted": "Deleted",
    "failed": "Failed",
    # access requests and grants
    "pending": "Waiting for approval",
    "active": "Active",
    "denied": "Denied",
    "withdrawn": "Withdrawn",
    "timed_out": "Timed out",
    "expired": "Expired",
    "revoked": "Revoked",
    "applying": "Being applied",
    "removing": "Being removed",
    "removed": "Removed",
    # outcomes of audited actions
    "success": "Succeeded",
    "error": "Error",
}

CLASSIFICATIONS: dict[str, str] = {
    "internal": "Internal",
    "confidential": "Confidential",
    "restricted": "Restricted",
}

# Hardened-spec and cloud fields shown on workspace and template pages.
FIELDS: dict[str, str] = {
    "direct_internet_access": "Direct internet access",
    "root_access": "Root access",
    "kms_key_id": "Encryption key (customer-managed)",
    "subnet_id": "Private subnet",
    "security_group_ids": "Security groups",
    "permissions_boundary_arn": "Permissions boundary",
    "idle_stop_minutes": "Stops when idle after (minutes)",
    "idle_shutdown_minutes": "Shuts down when idle after (minutes)",
    "allowed_sizes": "Allowed sizes",
    "allowed_instance_types": "Allowed sizes",
    "allowed_vm_sizes": "Allowed sizes",
    "default_size": "Default size",
    "default_instance_type": "Default size",
    "default_vm_size": "Default size",
    "max_volume_gb": "Largest storage volume (GB)",
    "volume_size_gb": "Storage volume (GB)",
    "volume_size_gb_min": "Smallest storage volume (GB)",
    "volume_size_gb_default": "Default storage volume (GB)",
    "mandatory_tags": "Mandatory tags",
    "platform_identifier": "Platform version",
    "enable_node_public_ip": "Public IP address",
    "ssh_public_access": "SSH from the internet",
    "subscription_id": "Azure subscription",
    "resource_group": "Resource group",
    "workspace_name": "Azure ML workspace",
    "location": "Region",
    "region": "Region",
    "instance_type": "Size",
    "data_classification": "Data classification",
    "cost_centre": "Cost centre",
    "lifecycle_config_name": "Idle-stop script",
    "execution_role_arn": "Execution role",
}


def humanise(code: str) -> str:
    """``some_code.part`` → ``Some code part``: the fallback for a code with no label yet."""
    text = str(code).replace("_", " ").replace(".", " ").replace(":", " ").strip()
    return text[:1].upper() + text[1:]


def _lookup(table: dict[str, str], code: object) -> str:
    key = str(code or "")
    return table.get(key) or humanise(key)


def provider_label(code: object) -> str:
    return _lookup(PROVIDERS, code)


def state_label(code: object) -> str:
    return _lookup(STATES, code)


def classification_label(code: object) -> str:
    return _lookup(CLASSIFICATIONS, code)


def field_label(code: object) -> str:
    return _lookup(FIELDS, code)
