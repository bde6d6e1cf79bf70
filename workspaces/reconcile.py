"""Reconciliation: compare what each cloud really runs with what the database believes.

Each workspace is judged from what the cloud says about *its own* resource, looked up by its
recorded identity (Azure: the compute's ARM id; AWS: the notebook instance name), never from
process-local state, so any worker reaches the same verdict. Drift is reported
(``workspace.drift_detected``): cloud resources tagged as Enclave's that no workspace accounts
for, workspaces whose resource is missing (a definitive not-found on two looks some minutes
apart), workspaces stopped outside Enclave, and hardening that changed since it was read back
at provisioning. A settled workspace the cloud moved on its own (idle shutdown, a console
action, a deletion) is brought in line (``workspace.state_reconciled``). The provider's current
status word is stored on every pass; workspaces in a transitional state are otherwise left to
their tasks (and the sweeper).
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actions import Action, Outcome
from audit.models import AuditEvent
from audit.services import record
from catalog.models import Template
from workspaces import backends, services
from workspaces.backends.base import CloudError, CloudRef, CloudState, CloudStatus, WorkspaceBackend
from workspaces.models import Workspace, WorkspaceState

S = WorkspaceState
log = logging.getLogger(__name__)
WORKSPACE_TAG = "enclave:workspace-id"
ORPHAN_TARGET = "cloud.resource"
# Report an orphan again at most this often, so the trail is not flooded every run.
ORPHAN_REPORT_INTERVAL = timedelta(hours=24)
# Settled states the cloud may move on its own, and what the cloud's word means for them.
FOLLOW = {CloudState.RUNNING: S.RUNNING, CloudState.STOPPED: S.STOPPED, CloudState.FAILED: S.FAILED}
# Drift flags for moves made outside Enclave (shown on the fleet page with the provider's status).
MISSING = "missing in cloud"
STOPPED_OUTSIDE = "stopped outside Enclave"


def _workspace_id(status: CloudStatus) -> str:
    raw = str(status.tags.get(WORKSPACE_TAG, ""))
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return ""


def _hardening_drift(applied: dict[str, Any], observed: dict[str, Any]) -> list[str]:
    return sorted(
        f"hardening changed: {key}" for key in applied.keys() & observed.keys() if applied[key] != observed[key]
    )


def _set_drift(ws: Workspace, flags: list[str], details: dict[str, Any]) -> bool:
    """Store the workspace's drift flags; audit when new ones appear."""
    new = sorted(set(flags) - set(ws.drift))
    if sorted(flags) == sorted(ws.drift):
        return False
    with transaction.atomic():
        Workspace.objects.filter(pk=ws.pk).update(drift=sorted(flags))
        if new:
            record(
                action=Action.WORKSPACE_DRIFT_DETECTED,
                target=ws,
                outcome=Outcome.ERROR,
                details={"drift": new, **details},
            )
    return bool(new)


def _report_orphans(provider: str, orphans: list[CloudStatus], now: datetime, found: Counter[str]) -> None:
    recently = set(
        AuditEvent.objects.filter(
            action=Action.WORKSPACE_DRIFT_DETECTED, target_type=ORPHAN_TARGET, at__gte=now - ORPHAN_REPORT_INTERVAL
        ).values_list("target_id", flat=True)
    )
    for status in orphans:
        found["unknown_resource"] += 1
        key = status.ref.resource_id or status.ref.resource_name
        if key[:80] in recently:
            continue
        record(
            action=Action.WORKSPACE_DRIFT_DETECTED,
            target=(ORPHAN_TARGET, key[:80], status.ref.resource_name),
            outcome=Outcome.ERROR,
            details={
                "drift": ["unknown to Enclave"],
                "provider": provider,
                "resource_name": status.ref.resource_name,
                "cloud_status": status.raw_status,
                "workspace_tag": str(status.tags.get(WORKSPACE_TAG, "")),
            },
        )


def _missing_confirm() -> timedelta:
    return timedelta(seconds=int(settings.ENCLAVE_MISSING_CONFIRM_SECONDS))


def _sticky(ws: Workspace) -> list[str]:
    """Out-of-band moves stay on the fleet page while the workspace is still where the cloud put it."""
    still = {STOPPED_OUTSIDE: ws.state == S.STOPPED, MISSING: ws.state == S.FAILED and ws.last_error_code == "missing"}
    return [flag for flag in ws.drift if still.get(flag)]


def reconcile_workspace(
    ws: Workspace, seen: CloudStatus | None, now: datetime, found: Counter[str], *, provider: str
) -> None:
    """Bring one workspace in line with what the cloud said about its own resource just now.

    ``seen`` is the cloud's answer to a look-up by the workspace's recorded identity, or ``None``
    when the cloud could not answer (nothing is decided from silence). "Missing" needs a definitive
    not-found on two looks at least ``ENCLAVE_MISSING_CONFIRM_SECONDS`` apart; the provider's
    current status word is stored on every pass."""
    if seen is None:
        return
    wid = str(ws.pk)
    flags: list[str] = _sticky(ws)
    updates: dict[str, Any] = {"cloud_status": seen.raw_status[:40], "reconciled_at": now}
    if seen.state == CloudState.DELETED:
        settled = ws.state in (S.RUNNING, S.STOPPED)
        if settled:
            if ws.missing_since is None:
                updates["missing_since"] = now
                found["not_found_once"] += 1
            elif now - ws.missing_since >= _missing_confirm():
                found["missing_in_cloud"] += 1
                if MISSING not in flags:
                    flags.append(MISSING)
                message = f"The workspace no longer exists in {services.provider_name(provider)}."
                if services.reconcile_state(
                    wid, ws.state, S.FAILED, {"cloud": "missing", "message": message, "code": "missing",
                                              "cloud_status": seen.raw_status or "NotFound"}
                ):  # fmt: skip
                    found["state_reconciled"] += 1
    else:
        updates["missing_since"] = None
        flags += _hardening_drift(dict(ws.applied_hardening), dict(seen.hardening))
        observed = FOLLOW.get(seen.state)
        settled = ws.state in (S.RUNNING, S.STOPPED) or (ws.state == S.FAILED and ws.failed_during != S.DELETING)
        if observed is not None and settled and observed != ws.state:
            details: dict[str, Any] = {"cloud_status": seen.raw_status, "message": seen.message, "code": "cloud"}
            if observed == S.RUNNING and not ws.applied_hardening:
                details["hardening"] = dict(seen.hardening)
            if services.reconcile_state(wid, ws.state, observed, details):
                found["state_reconciled"] += 1
                if ws.state == S.RUNNING and observed == S.STOPPED:
                    flags.append(STOPPED_OUTSIDE)
                ws.state = observed
    Workspace.objects.filter(pk=ws.pk).update(**updates)
    if flags:
        found["drifted"] += 1
    _set_drift(ws, flags, {"provider": provider, "state": ws.state, "cloud_status": seen.raw_status})


def reconcile_provider(
    provider: str, inventory: Iterable[CloudStatus], backend: WorkspaceBackend | None = None
) -> Counter[str]:
    """Reconcile one provider: each workspace from a look-up of its own resource by its recorded
    identity (never from a listing, whose reach depends on the process: Azure's covers only the
    Azure ML workspaces that process knows); the listing serves only to find resources tagged as
    ours that no workspace accounts for."""
    backend = backend or backends.get_backend(provider)
    now = timezone.now()
    found: Counter[str] = Counter()
    cloud: dict[str, CloudStatus] = {}
    orphans: list[CloudStatus] = []
    for status in inventory:
        wid = _workspace_id(status)
        if wid:
            cloud[wid] = status
        else:
            orphans.append(status)
    known = dict(Workspace.objects.filter(provider=provider, pk__in=list(cloud)).values_list("pk", "state"))
    orphans += [st for wid, st in cloud.items() if known.get(uuid.UUID(wid)) in (None, S.DELETED)]
    _report_orphans(provider, orphans, now, found)

    for ws in Workspace.objects.filter(provider=provider).exclude(state__in=[S.DELETED, S.REJECTED]).iterator():
        if not ws.cloud_ref:
            continue
        try:
            seen: CloudStatus | None = backend.describe(CloudRef.from_json(ws.cloud_ref))
        except CloudError as exc:  # not a definitive answer: decide nothing, look again next time
            log.warning("reconciliation: could not describe workspace %s: %s", ws.pk, exc.code)
            found["describe_errors"] += 1
            seen = None
        if ws.state in services.TRANSITIONAL_STATES:  # the lifecycle tasks own it; record what the cloud says
            if seen is not None:
                Workspace.objects.filter(pk=ws.pk).update(cloud_status=seen.raw_status[:40], reconciled_at=now)
            continue
        reconcile_workspace(ws, seen, now, found, provider=provider)
    return found


def reconcile_all() -> dict[str, int]:
    """Reconcile every provider that has templates or workspaces; one provider's outage
    does not stop the others (it is logged and retried at the next run)."""
    providers = set(Template.objects.values_list("provider", flat=True).distinct()) | set(
        Workspace.objects.values_list("provider", flat=True).distinct()
    )
    totals: Counter[str] = Counter()
    for provider in sorted(providers):
        backend = backends.get_backend(provider)
        try:
            inventory = list(backend.inventory())
        except Exception:
            log.exception("reconciliation: could not list %s resources", provider)
            totals["provider_errors"] += 1
            inventory = []  # each workspace is still looked up by its own identity
        totals += reconcile_provider(provider, inventory, backend)
    return dict(totals)
