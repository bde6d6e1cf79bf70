"""The compute instance create body: the security baseline expressed as an ARM ``ComputeResource``."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from catalog.specs import AzureMLSpec
from workspaces.backends.base import InvalidCloudRequest, WorkspaceSpec

MANAGED_TAG = "enclave:managed"
WORKSPACE_TAG = "enclave:workspace-id"

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_FORBIDDEN_TAG_CHARS = re.compile(r"[<>%&\\?/]")


def build_compute_instance_body(spec: WorkspaceSpec, *, tenant_id: str) -> dict[str, Any]:
    """The ``API_VERSION`` ``ComputeResource`` body for ``spec``'s compute instance, validated before anything is sent.

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
