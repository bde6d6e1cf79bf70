"""Reading a compute resource back: Azure's states and settings normalised into a ``CloudStatus``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from workspaces.backends.azureml.client import API_VERSION
from workspaces.backends.base import CloudRef, CloudState, CloudStatus

# What ``provision`` asked for, kept in the ref's ``extra`` so ``describe`` can confirm it.
REQUESTED_IDLE = "idle_time_before_shutdown"
_DURATION = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$", re.I)

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


def duration_seconds(value: Any) -> float | None:
    """Seconds in an ISO 8601 day-time duration such as ``PT60M`` or ``PT1H``; None if it is not one."""
    m = _DURATION.match(value) if isinstance(value, str) and value not in ("P", "PT") else None
    if m is None:
        return None
    days, hours, minutes, seconds = (float(m.group(k) or 0) for k in "dhms")
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def idle_shutdown_confirmed(ref: CloudRef, instance: Mapping[str, Any]) -> bool:
    """Azure reports the idle shutdown that was asked for (or, for a ref that does not say, any idle shutdown)."""
    reported = duration_seconds(instance.get("idleTimeBeforeShutdown"))
    requested = ref.extra.get(REQUESTED_IDLE)
    if reported is None or reported <= 0:
        return False
    return requested is None or duration_seconds(requested) == reported


def status_from_resource(ref: CloudRef, resource: Mapping[str, Any]) -> CloudStatus:
    """What a compute resource (read at ``API_VERSION``) says about a workspace, normalised.

    ``provisioningState`` Failed or Deleting outranks the instance state; the
    returned ``ref`` carries the managed identity's principal id once Azure has
    assigned it, so the portal can store it for later grants.

    Idle shutdown is a baseline control that Azure has been known to drop
    silently, so a running instance whose read-back does not confirm it is
    reported ``FAILED``: the portal never calls such a workspace running. The
    ``hardening`` facts say what Azure reported, whether idle shutdown was
    confirmed, and the api-version they were read with (for the audit trail).
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
    confirmed = idle_shutdown_confirmed(ref, instance)
    if state is CloudState.RUNNING and not confirmed:
        state = CloudState.FAILED
        asked = ref.extra.get(REQUESTED_IDLE) or "any"
        reported = instance.get("idleTimeBeforeShutdown") or "none"
        message = (
            f"Azure does not confirm the idle shutdown the baseline requires (asked for {asked}, Azure reports "
            f"{reported}); Enclave will not call the workspace running."
        )

    identity = resource.get("identity") or {}
    hardening = {
        "vm_size": instance.get("vmSize"),
        "subnet_id": (instance.get("subnet") or {}).get("id"),
        "enable_node_public_ip": instance.get("enableNodePublicIp"),
        "ssh_public_access": (instance.get("sshSettings") or {}).get("sshPublicAccess"),
        "assigned_user_object_id": assigned_user_of(resource) or None,
        "idle_time_before_shutdown": instance.get("idleTimeBeforeShutdown"),
        "idle_shutdown_confirmed": confirmed,
        "identity_type": identity.get("type"),
        "api_version": API_VERSION,
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
