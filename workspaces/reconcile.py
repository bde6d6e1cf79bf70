"""Reconciliation: compare what each cloud really runs with what the database believes.

Three kinds of drift are reported (``workspace.drift_detected``): cloud resources tagged
as Enclave's that no workspace accounts for, workspaces whose resource is missing from
the cloud, and hardening that changed since it was read back at provisioning. A settled
workspace the cloud moved on its own (idle shutdown, a console action, a deletion) is
brought in line (``workspace.state_reconciled``). Workspaces in a transitional state are
left to their polling tasks.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.actions import Action, Outcome
from audit.models import AuditEvent
from audit.services import record
from catalog.models import Template
from workspaces import backends, services
from workspaces.backends.base import CloudState, CloudStatus
from workspaces.models import Workspace, WorkspaceState

S = WorkspaceState
log = logging.getLogger(__name__)
WORKSPACE_TAG = "enclave:workspace-id"
ORPHAN_TARGET = "cloud.resource"
# Report an orphan again at most this often, so the trail is not flooded every run.
ORPHAN_REPORT_INTERVAL = timedelta(hours=24)
# Settled states the cloud may move on its own, and what the cloud's word means for them.
FOLLOW = {CloudState.RUNNING: S.RUNNING, CloudState.STOPPED: S.STOPPED, CloudState.FAILED: S.FAILED}


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


def reconcile_provider(provider: str, inventory: Iterable[CloudStatus]) -> Counter[str]:
    """Reconcile one provider's inventory against its workspaces; returns what it found."""
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
    workspaces = {
        str(ws.pk): ws
        for ws in Workspace.objects.filter(Q(provider=provider) & (~Q(state=S.DELETED) | Q(pk__in=list(cloud))))
    }
    orphans += [st for wid, st in cloud.items() if wid not in workspaces or workspaces[wid].state == S.DELETED]

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

    for wid, ws in workspaces.items():
        if ws.state in (S.DELETED, S.REJECTED):
            continue
        seen = cloud.get(wid)
        flags: list[str] = []
        if seen is None:
            if ws.state in services.CLOUD_STATES:
                flags.append("missing in cloud")
                found["missing_in_cloud"] += 1
                if ws.state in (S.RUNNING, S.STOPPED):
                    message = f"The workspace no longer exists in {services.provider_name(provider)}."
                    if services.reconcile_state(
                        wid, ws.state, S.FAILED, {"cloud": "missing", "message": message, "code": "missing"}
                    ):
                        found["state_reconciled"] += 1
        else:
            flags += _hardening_drift(dict(ws.applied_hardening), dict(seen.hardening))
            observed = FOLLOW.get(seen.state)
            settled = ws.state in (S.RUNNING, S.STOPPED) or (ws.state == S.FAILED and ws.failed_during != S.DELETING)
            if observed is not None and settled and observed != ws.state:
                details: dict[str, Any] = {"cloud_status": seen.raw_status, "message": seen.message, "code": "cloud"}
                if observed == S.RUNNING and not ws.applied_hardening:
                    details["hardening"] = dict(seen.hardening)
                if services.reconcile_state(wid, ws.state, observed, details):
                    found["state_reconciled"] += 1
        if flags:
            found["drifted"] += 1
        _set_drift(ws, flags, {"provider": provider, "state": ws.state})
    Workspace.objects.filter(pk__in=list(workspaces)).update(reconciled_at=now)
    return found


def reconcile_all() -> dict[str, int]:
    """Reconcile every provider that has templates or workspaces; one provider's outage
    does not stop the others (it is logged and retried at the next run)."""
    providers = set(Template.objects.values_list("provider", flat=True).distinct()) | set(
        Workspace.objects.values_list("provider", flat=True).distinct()
    )
    totals: Counter[str] = Counter()
    for provider in sorted(providers):
        try:
            inventory = list(backends.get_backend(provider).inventory())
        except Exception:
            log.exception("reconciliation: could not list %s resources", provider)
            totals["provider_errors"] += 1
            continue
        totals += reconcile_provider(provider, inventory)
    return dict(totals)
