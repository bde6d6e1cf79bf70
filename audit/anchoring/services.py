"""Writes of the anchoring: signing a checkpoint into the sink (audited), and the alert
sent to auditors and catalog admins when anchoring or verification fails.

The sink write happens outside any database transaction (an S3 outage must never hold the
chain's append lock); the ``audit.checkpointed`` event that records it follows at once. A
failure is recorded as ``audit.checkpoint_failed`` and mailed when anchoring *starts*
failing, not every minute while it stays down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from audit.actions import Action, Outcome
from audit.alerts import integrity_alert
from audit.anchoring.documents import (
    CHECKPOINT_PREFIX,
    KEY_PREFIX,
    Checkpoint,
    DocumentError,
    checkpoint_name,
    key_record_for,
    parse_checkpoint,
    parse_key_record,
    sign_checkpoint,
)
from audit.anchoring.ledger import load_ledger
from audit.anchoring.packs import EvidencePackError, PackSummary, write_pack
from audit.anchoring.signing import Signer, get_signer
from audit.anchoring.sinks import AnchorExists, Sink, SinkError, get_sink
from audit.hashing import format_at
from audit.models import AuditEvent
from audit.services import record, record_denied
from core.errors import PermissionDeniedError
from core.roles import Role, roles_of

logger = logging.getLogger(__name__)

PUT_ATTEMPTS = 3
_CONFIRMED_KEYS: set[tuple[str, str]] = set()  # (sink, key id) known to be the newest key record


class CheckpointFailed(Exception):
    """The checkpoint could not be written; the failure is already recorded and alerted."""


@dataclass(frozen=True)
class CheckpointOutcome:
    status: str  # "written", "unchanged" (nothing new since the last one) or "disabled" (no sink)
    checkpoint: Checkpoint | None = None
    event: AuditEvent | None = None


def create_checkpoint(*, actor: Any = None, via: str) -> CheckpointOutcome:
    """Sign the chain's tip and write it to the write-once sink, then record ``audit.checkpointed``.

    Refuses (and alerts) when the trail no longer holds the hash the newest checkpoint
    anchored: a checkpoint must only ever extend the chain it follows, so a rewrite is
    caught within one checkpoint interval instead of at the next full verification.
    Nothing is written when no event was appended since the last checkpoint other than
    that checkpoint's own record.
    """
    system_actor = f"cli:{via}" if via.startswith("manage.py") else via
    try:
        sink = get_sink()
    except (ImproperlyConfigured, SinkError) as exc:
        _record_failure(str(exc), settings.ENCLAVE_AUDIT_ANCHOR_SINK, system_actor, actor)
        raise CheckpointFailed(str(exc)) from exc
    if sink is None:
        return CheckpointOutcome("disabled")
    try:
        signer = get_signer()
        for _ in range(PUT_ATTEMPTS):
            latest = latest_checkpoint(sink)
            tip_seq, tip_hash = _tip()
            if latest is not None:
                _require_extends(latest)
                if _nothing_new(latest, tip_seq, tip_hash):
                    return CheckpointOutcome("unchanged", latest)
            elif tip_seq == 0:
                return CheckpointOutcome("unchanged")
            now = timezone.now()
            introduced = _publish_key(sink, signer, now)
            checkpoint = sign_checkpoint(
                signer,
                number=(latest.number + 1) if latest else 1,
                seq=tip_seq,
                digest=tip_hash,
                at=now,
                previous=latest,
            )
            try:
                sink.put(checkpoint_name(checkpoint.number), checkpoint.raw)
            except AnchorExists:
                continue  # another process wrote this number first: build on theirs
            break
        else:
            raise SinkError(f"could not claim a checkpoint number after {PUT_ATTEMPTS} attempts")
    except (SinkError, DocumentError, ImproperlyConfigured, OSError, AnchorMismatch) as exc:
        _record_failure(str(exc), sink.describe(), system_actor, actor)
        raise CheckpointFailed(str(exc)) from exc

    with transaction.atomic():
        if introduced:
            record(
                action=Action.AUDIT_SIGNING_KEY_INTRODUCED,
                actor=actor,
                system_actor=system_actor,
                details={"key_id": signer.key_id, "not_before": introduced, "sink": sink.describe()},
            )
        event = record(
            action=Action.AUDIT_CHECKPOINTED,
            actor=actor,
            system_actor=system_actor,
            details={
                "number": checkpoint.number,
                "seq": checkpoint.seq,
                "hash": checkpoint.hash,
                "at": checkpoint.at,
                "key_id": checkpoint.key_id,
                "checkpoint_digest": checkpoint.digest,
                "sink": sink.describe(),
                "name": checkpoint_name(checkpoint.number),
            },
        )
    return CheckpointOutcome("written", checkpoint, event)


class AnchorMismatch(Exception):
    """The trail no longer holds what the newest checkpoint anchored."""


def latest_checkpoint(sink: Sink) -> Checkpoint | None:
    """The newest checkpoint in the sink. The newest ``audit.checkpointed`` event is only a
    hint where to start listing; the sink is the truth."""
    hint = _hinted_number()
    entries = sink.entries(CHECKPOINT_PREFIX, start_after=checkpoint_name(hint - 1)) if hint > 1 else []
    if not entries:
        entries = sink.entries(CHECKPOINT_PREFIX)
    if not entries:
        return None
    return parse_checkpoint(sink.read(entries[-1]))


def _hinted_number() -> int:
    event = AuditEvent.objects.filter(action=Action.AUDIT_CHECKPOINTED.value).order_by("-seq").first()
    number = event.details.get("number") if event is not None else None
    return number if isinstance(number, int) else 0


def _tip() -> tuple[int, str]:
    row = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    return (int(row[0]), str(row[1])) if row else (0, "")


def _require_extends(latest: Checkpoint) -> None:
    stored = AuditEvent.objects.filter(seq=latest.seq).values_list("hash", flat=True).first()
    if stored != latest.hash:
        found = "the event is missing" if stored is None else f"found {stored}"
        raise AnchorMismatch(
            f"the trail no longer matches {latest.label}: event {latest.seq} should have hash {latest.hash}, {found}"
        )


OWN_RECORDS = (Action.AUDIT_CHECKPOINTED.value, Action.AUDIT_SIGNING_KEY_INTRODUCED.value)


def _nothing_new(latest: Checkpoint, tip_seq: int, tip_hash: str) -> bool:
    """Only the latest checkpoint's own records (its key introduction, its ``audit.checkpointed``)
    follow it: anchoring those would add a checkpoint a minute to a quiet trail, forever."""
    if tip_seq == latest.seq:
        return True
    after = list(AuditEvent.objects.filter(seq__gt=latest.seq).order_by("seq").values_list("action", "details")[:3])
    return len(after) <= 2 and all(
        action == Action.AUDIT_SIGNING_KEY_INTRODUCED.value
        or (action == Action.AUDIT_CHECKPOINTED.value and details.get("number") == latest.number)
        for action, details in after
    )


def _publish_key(sink: Sink, signer: Signer, now: Any) -> str:
    """Make sure the newest key record in the sink is the signer's; returns the new record's
    ``not_before`` when one was written (a rotation, or the first key), else ""."""
    if (sink.describe(), signer.key_id) in _CONFIRMED_KEYS:
        return ""
    entries = sink.entries(KEY_PREFIX)
    if entries:
        newest = max((parse_key_record(sink.read(e)) for e in entries), key=lambda k: k.not_before)
        if newest.key_id == signer.key_id:
            _CONFIRMED_KEYS.add((sink.describe(), signer.key_id))
            return ""
    key_record = key_record_for(signer, now)
    sink.put(key_record.name, key_record.raw)
    _CONFIRMED_KEYS.add((sink.describe(), signer.key_id))
    logger.warning("audit signing key %s introduced in %s", signer.key_id, sink.describe())
    return key_record.not_before


def _record_failure(reason: str, sink: str, system_actor: str, actor: Any) -> None:
    logger.error("AUDIT CHECKPOINT FAILED: %s", reason)
    with transaction.atomic():
        previous = (
            AuditEvent.objects.filter(
                action__in=[Action.AUDIT_CHECKPOINTED.value, Action.AUDIT_CHECKPOINT_FAILED.value]
            )
            .order_by("-seq")
            .values_list("action", flat=True)
            .first()
        )
        record(
            action=Action.AUDIT_CHECKPOINT_FAILED,
            actor=actor,
            system_actor=system_actor,
            outcome=Outcome.ERROR,
            details={"reason": reason, "sink": sink},
        )
        if previous != Action.AUDIT_CHECKPOINT_FAILED.value:
            integrity_alert(
                "Audit trail anchoring FAILED",
                "Enclave could not write a signed checkpoint of its audit trail outside the database.\n\n"
                f"Reason: {reason}\nSink: {sink}\n\n"
                "Until checkpoints resume, a database administrator could rewrite recent history unseen.\n"
                "If the reason says the trail no longer matches a checkpoint, treat it as a security incident:\n"
                "preserve the database and its backups, and run `manage.py audit verify`.\n",
            )


def create_evidence_pack(
    *,
    actor: Any,
    since: datetime,
    until: datetime,
    out: IO[bytes],
    via: str,
    dataset: str = "",
    user: str = "",
    name: str = "evidence.zip",
) -> tuple[PackSummary, AuditEvent]:
    """Write an evidence pack for [since, until) to ``out`` and record ``audit.evidence_pack_created``.

    Only auditors make packs from the portal (``actor`` ``None`` is the command line, run by
    whoever operates the host). The tip is checkpointed first so the period's newest events
    are anchored; the event naming the period, filter, anchor and manifest digest is recorded
    before the pack is handed out, so the same pack can be recognised later.
    """
    if actor is not None and Role.AUDITOR not in roles_of(actor):
        record_denied(actor=actor, reason="Evidence packs are for auditors")
        raise PermissionDeniedError("Evidence packs are for auditors.")
    if since >= until:
        raise EvidencePackError("The period must end after it starts.")
    try:
        sink = get_sink()
        if sink is None:
            raise EvidencePackError("Evidence packs need external anchors: set ENCLAVE_AUDIT_ANCHOR_SINK.")
        create_checkpoint(actor=actor, via=via)
        signer = get_signer()  # the manifest is sealed with the current key, which must be in the history
        introduced = _publish_key(sink, signer, timezone.now())
        if introduced:
            record(
                action=Action.AUDIT_SIGNING_KEY_INTRODUCED,
                actor=actor,
                system_actor=f"cli:{via}" if actor is None else "",
                details={"key_id": signer.key_id, "not_before": introduced, "sink": sink.describe()},
            )
        ledger = load_ledger(sink)
    except (CheckpointFailed, SinkError, DocumentError, ImproperlyConfigured, OSError) as exc:
        raise EvidencePackError(f"The trail could not be anchored, so no pack was made: {exc}") from exc
    created_by = actor.get_username() if actor is not None else f"cli:{via}"
    summary = write_pack(
        out, since=since, until=until, dataset=dataset, user=user, ledger=ledger, signer=signer,
        created_by=created_by, created_at=timezone.now(), name=name,
    )  # fmt: skip
    event = record(
        action=Action.AUDIT_EVIDENCE_PACK_CREATED,
        actor=actor,
        system_actor=f"cli:{via}" if actor is None else "",
        details={
            "period": {"since": format_at(since), "until": format_at(until)},
            "filter": {k: v for k, v in (("dataset", dataset), ("user", user)) if v},
            "events": {
                "first_seq": summary.period_first,
                "last_seq": summary.period_last,
                "in_period": summary.in_period,
                "matching": summary.matching,
            },
            "anchor": {"checkpoint": summary.anchor.number, "seq": summary.anchor.seq},
            "manifest_sha256": summary.manifest_sha256,
            "via": via,
        },
    )
    return summary, event
