"""Reading a compute resource back: Azure's states and settings normalised into a ``CloudStatus``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workspaces.backends.base import CloudRef, CloudState, CloudStatus

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
ALREADY_STARTED = frozenset({CloudState.PENDING, CloudState.RUNNING, CloudState.STARTING})
ALREADY_STOPPED = frozenset({CloudState.STOPPING, CloudState.STOPPED})


def _instance(resource: Mapping[str, Any]) -> dict[str, Any]:
    return dict((resource.get("properties") or {}).get("properties") or {})


def assigned_user_of(resource: Mapping[str, Any]) -> str:
    settings = _instance(resource).get("personalComputeInstanceSettings") or {}
    return str((settings.get("assignedUser") or {}).get("objectId") or "")


def principal_id_of(resource: Mapping[str, Any]) -> str:
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
        "assigned_user_object_id": assigned_user_of(resource) or None,
        "idle_time_before_shutdown": instance.get("idleTimeBeforeShutdown"),
        "identity_type": identity.get("type"),
    }
    principal_id = principal_id_of(resource)
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
