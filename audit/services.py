"""Recording audit events: the one function every app calls.

``record`` must run inside the transaction of the change it records (it opens a
savepoint if called inside one, or its own transaction otherwise): if the change
rolls back, so does the event; if the event cannot be written, the change fails.
Appends lock the chain-head row, so concurrent writers queue and the chain gets
consecutive sequence numbers with no fork.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from audit.actions import Action, Outcome
from audit.hashing import chain_hash, event_payload
from audit.models import AuditChainHead, AuditEvent
from audit.redaction import redact
from portal import context
from portal.roles import roles_of

Target = models.Model | tuple[str, str, str] | None


def _target_fields(target: Target) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    if isinstance(target, tuple):
        ttype, tid, display = target
        return ttype, str(tid), str(display)[:300]
    meta = target._meta
    return f"{meta.app_label}.{meta.model_name}", str(target.pk), str(target)[:300]


def _normalise(details: dict[str, Any] | None) -> dict[str, Any]:
    """Redacted and JSON-round-tripped, so the hashed form equals what the database returns."""
    result: dict[str, Any] = json.loads(json.dumps(redact(details or {}), default=str, sort_keys=True))
    return result


def _lock_head() -> tuple[int, str]:
    """Take the chain head under a row lock and return (last_seq, last_hash)."""
    table = AuditChainHead._meta.db_table
    with connection.cursor() as cursor:
        # A write first: on SQLite it takes the database write lock, on PostgreSQL the row lock.
        cursor.execute(f"UPDATE {table} SET last_seq = last_seq WHERE id = 1")  # noqa: S608 - fixed table name
        if cursor.rowcount == 0:
            cursor.execute(f"INSERT INTO {table} (id, last_seq, last_hash) VALUES (1, 0, %s)", ["0" * 64])  # noqa: S608
        cursor.execute(f"SELECT last_seq, last_hash FROM {table} WHERE id = 1")  # noqa: S608
        row = cursor.fetchone()
    return int(row[0]), str(row[1])


def record(
    *,
    action: Action,
    actor: Any = None,
    target: Target = None,
    outcome: Outcome = Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
    system_actor: str = "",
) -> AuditEvent:
    """Append one event to the trail.

    ``actor`` is the user who acted (``None`` for the system; ``system_actor`` or the
    running task's name then names it). IP, user agent and correlation id come from
    the request or task context (``portal.context``).
    """
    action = Action(action)
    outcome = Outcome(outcome)
    ctx = context.current()
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    if user is not None:
        actor_label = user.get_username()
        actor_roles = sorted(r.value for r in roles_of(user))
    else:
        actor_label = system_actor or ctx.system_actor or "system"
        actor_roles = []
    target_type, target_id, target_display = _target_fields(target)
    clean_details = _normalise(details)

    with transaction.atomic():
        last_seq, last_hash = _lock_head()
        seq = last_seq + 1
        at = timezone.now()
        payload = event_payload(
            seq=seq,
            at=at,
            actor_id=user.pk if user is not None else None,
            actor_label=actor_label,
            actor_roles=actor_roles,
            actor_ip=ctx.ip,
            user_agent=ctx.user_agent[:400],
            action=action.value,
            target_type=target_type,
            target_id=target_id,
            target_display=target_display,
            outcome=outcome.value,
            details=clean_details,
            request_id=ctx.request_id,
        )
        digest = chain_hash(last_hash, payload)
        event = AuditEvent(
            seq=seq,
            at=at,
            actor=user,
            actor_label=actor_label,
            actor_roles=actor_roles,
            actor_ip=ctx.ip,
            user_agent=payload["user_agent"],
            action=action.value,
            target_type=target_type,
            target_id=target_id,
            target_display=target_display,
            outcome=outcome.value,
            details=clean_details,
            request_id=ctx.request_id,
            prev_hash=last_hash,
            hash=digest,
        )
        event.save()
        AuditChainHead.objects.filter(id=1).update(last_seq=seq, last_hash=digest)
    return event


def record_denied(
    *, actor: Any, action: Action = Action.ACCESS_DENIED, target: Target = None, reason: str, **details: Any
) -> AuditEvent:
    """Record a refused attempt. Denials are committed even when the caller then fails,
    because they are written in their own transaction when none is open."""
    return record(
        action=action, actor=actor, target=target, outcome=Outcome.DENIED, details={"reason": reason, **details}
    )
