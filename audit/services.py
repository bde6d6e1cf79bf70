"""Recording audit events: the one function every app calls, plus the audit trail's own
services (verification with its alert, export).

``record`` runs inside the transaction of the change it records (or opens one when
none is open): if the change rolls back, so does the event; if the event cannot be
written, the whole transaction fails — the change cannot commit without its event.
Appends lock the chain-head row, so concurrent writers queue and the chain gets
consecutive sequence numbers with no fork.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from audit.actions import Action, Outcome
from audit.filters import EventFilter
from audit.hashing import GENESIS, chain_hash, event_payload
from audit.models import AuditChainHead, AuditEvent
from audit.redaction import redact
from core import context
from core.errors import PermissionDeniedError
from core.roles import Role, roles_of

logger = logging.getLogger(__name__)

Target = models.Model | tuple[str, str, str] | None

_EVENT_TABLE = AuditEvent._meta.db_table
_HEAD_TABLE = AuditChainHead._meta.db_table
_COLUMNS = [str(f.column) for f in AuditEvent._meta.concrete_fields]
_FIELDS = {str(f.column): f for f in AuditEvent._meta.concrete_fields}
_TIP_CACHE = "_enclave_audit_tip"
_TIP_SQL = f"SELECT seq, hash FROM {_EVENT_TABLE} ORDER BY seq DESC LIMIT 1"  # noqa: S608 - fixed names


def _target_fields(target: Target) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    if isinstance(target, tuple):
        ttype, tid, display = target
        return _text(ttype, 80), _text(tid, 80), _text(display, 300)
    meta = target._meta
    return f"{meta.app_label}.{meta.model_name}"[:80], _text(target.pk, 80), _text(target, 300)


def _text(value: Any, limit: int) -> str:
    """A database-safe snapshot: PostgreSQL text cannot hold NUL, and columns have limits."""
    return str(value if value is not None else "").replace("\x00", "\ufffd")[:limit]


@lru_cache(maxsize=1024)
def _clean_ip(ip: str | None) -> str | None:
    """The address exactly as PostgreSQL's ``inet`` prints it back (so the hash still
    matches), or ``None`` for something that is not an address (a proxy's ``unknown``).

    IPv4-mapped IPv6 (``::ffff:10.0.0.1``, what a dual-stack server sees) is stored as
    the IPv4 address; ``::a.b.c.d`` keeps PostgreSQL's dotted form, which Python's
    ``ipaddress`` would print differently.
    """
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0].strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        value = int(addr)
        if value >> 32 == 0 and value >> 16 != 0:
            return "::" + str(ipaddress.IPv4Address(value))
    return str(addr)


_JSON_KEY = {True: "true", False: "false", None: "null"}


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key.replace("\x00", "\ufffd")
    if isinstance(key, bool) or key is None:
        return _JSON_KEY[key]
    return str(_json_value(key)) if isinstance(key, int | float) else str(key)


def _json_value(value: Any) -> Any:
    """``value`` as plain JSON data that PostgreSQL ``jsonb`` gives back unchanged, so the
    hashed form equals the stored one: strings without NUL, no NaN/Infinity, integral floats
    as integers (``jsonb`` prints 1e20 as an integer), anything else as its string (what
    ``json.dumps(default=str)`` would do)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, dict):
        return {_json_key(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return int(value) if value.is_integer() else value
    return str(value).replace("\x00", "\ufffd")


def _normalise(details: dict[str, Any] | None) -> dict[str, Any]:
    """Redacted plain JSON data, in the form the database returns it."""
    result: dict[str, Any] = _json_value(redact(details or {}))
    return result


def _seed_head(conn: BaseDatabaseWrapper) -> None:
    """Create the lock row if it is missing (a fresh or flushed database). Concurrent
    callers are harmless: the loser does nothing."""
    with conn.cursor() as cursor:
        cursor.execute(f"INSERT INTO {_HEAD_TABLE} (id) VALUES (1) ON CONFLICT (id) DO NOTHING")  # noqa: S608


def _lock_tip(conn: BaseDatabaseWrapper) -> tuple[int, str]:
    """Take the append lock and return the chain's tip as (last_seq, last_hash).

    The lock is the chain-head row. On PostgreSQL ``SELECT ... FOR UPDATE`` locks it
    without writing it (an UPDATE per append would leave a dead row version per event
    and every later append would walk them); the tip is then read by a second statement
    in the same round trip, which under READ COMMITTED takes a fresh snapshot *after*
    the lock is granted, so it sees every append committed before ours. On SQLite a
    no-op UPDATE takes the database write lock (already held under ``BEGIN IMMEDIATE``).
    """
    postgres = conn.vendor == "postgresql"
    for _ in range(2):
        with conn.cursor() as cursor:
            if postgres:
                cursor.execute(f"SELECT id FROM {_HEAD_TABLE} WHERE id = 1 FOR UPDATE; {_TIP_SQL}")  # noqa: S608
                locked = cursor.fetchone() is not None
                cursor.nextset()
            else:
                cursor.execute(f"UPDATE {_HEAD_TABLE} SET id = id WHERE id = 1")  # noqa: S608
                locked = cursor.rowcount == 1
                cursor.execute(_TIP_SQL)
            tip = cursor.fetchone()
        if locked:
            return (int(tip[0]), str(tip[1])) if tip else (0, GENESIS)
        _seed_head(conn)
    raise RuntimeError("audit chain head could not be created")


class _TipMarker:
    """A no-op on-commit callback whose presence in ``connection.run_on_commit`` proves that
    the transaction (and savepoint) in which we last appended is still open."""

    __slots__ = ("sids",)

    def __init__(self, sids: frozenset[str]) -> None:
        self.sids = sids

    def __call__(self) -> None:
        return None


def _cached_tip(conn: BaseDatabaseWrapper) -> tuple[int, str] | None:
    """The tip this transaction last appended while holding the lock, if still valid, so a
    batch of appends in one transaction costs one round trip each.

    Django drops an on-commit callback when the savepoint it was registered in rolls
    back, and all of them when the transaction ends, so a present marker means our
    last write is still part of the open transaction and the row lock is still ours.
    """
    cached = getattr(conn, _TIP_CACHE, None)
    if cached is None or not conn.in_atomic_block:
        return None
    marker, seq, digest = cached
    for entry in reversed(conn.run_on_commit):
        if entry[1] is marker:
            return seq, digest
    return None


def _remember_tip(conn: BaseDatabaseWrapper, seq: int, digest: str) -> None:
    sids = frozenset(conn.savepoint_ids)
    cached = getattr(conn, _TIP_CACHE, None)
    marker = cached[0] if cached is not None and cached[0].sids == sids and _cached_tip(conn) else None
    if marker is None:
        marker = _TipMarker(sids)
        transaction.on_commit(marker, using=conn.alias)
    setattr(conn, _TIP_CACHE, (marker, seq, digest))


def _insert_sql(conn: BaseDatabaseWrapper) -> str:
    qn = conn.ops.quote_name
    columns = ", ".join(qn(c) for c in _COLUMNS)
    placeholders = ", ".join(["%s"] * len(_COLUMNS))
    insert = f"INSERT INTO {qn(_EVENT_TABLE)} ({columns}) VALUES ({placeholders})"  # noqa: S608 - fixed names
    return insert


_SQL_CACHE: dict[str, str] = {}


def _write(conn: BaseDatabaseWrapper, event: AuditEvent) -> None:
    sql = _SQL_CACHE.get(conn.vendor)
    if sql is None:
        sql = _SQL_CACHE[conn.vendor] = _insert_sql(conn)
    values = [_FIELDS[c].get_db_prep_save(getattr(event, _FIELDS[c].attname), conn) for c in _COLUMNS]
    with conn.cursor() as cursor:
        cursor.execute(sql, values)


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
    the request or task context (``core.context``). Secrets in ``details`` are
    redacted before hashing, so they never reach the database or an export.
    """
    action = Action(action)
    outcome = Outcome(outcome)
    ctx = context.current()
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    if user is not None:
        actor_label = _text(user.get_username(), 200)
        actor_roles = sorted(r.value for r in roles_of(user))
    else:
        actor_label = _text(system_actor or ctx.system_actor or "system", 200)
        actor_roles = []
    target_type, target_id, target_display = _target_fields(target)
    clean_details = _normalise(details)
    actor_ip = _clean_ip(ctx.ip)
    user_agent = _text(ctx.user_agent, 400)
    request_id = _text(ctx.request_id, 64)

    # No savepoint: if the insert fails inside the caller's transaction, that transaction
    # is marked for rollback, so the change cannot commit without its event.
    with transaction.atomic(savepoint=False):
        conn = transaction.get_connection()
        last_seq, last_hash = _cached_tip(conn) or _lock_tip(conn)
        seq = last_seq + 1
        at = timezone.now()
        fields: dict[str, Any] = {
            "seq": seq,
            "at": at,
            "actor_id": user.pk if user is not None else None,
            "actor_label": actor_label,
            "actor_roles": actor_roles,
            "actor_ip": actor_ip,
            "user_agent": user_agent,
            "action": action.value,
            "target_type": target_type,
            "target_id": target_id,
            "target_display": target_display,
            "outcome": outcome.value,
            "details": clean_details,
            "request_id": request_id,
        }
        digest = chain_hash(last_hash, event_payload(**fields))
        event = AuditEvent(**fields, prev_hash=last_hash, hash=digest)
        _write(conn, event)
        event._state.adding = False
        event._state.db = conn.alias
        _remember_tip(conn, seq, digest)
    return event


def record_denied(
    *, actor: Any, action: Action = Action.ACCESS_DENIED, target: Target = None, reason: str, **details: Any
) -> AuditEvent:
    """Record a refused attempt. Denials are committed even when the caller then fails,
    because they are written in their own transaction when none is open."""
    return record(
        action=action, actor=actor, target=target, outcome=Outcome.DENIED, details={"reason": reason, **details}
    )


# --- the audit trail's own services -------------------------------------------------------------

READER_ROLES = (Role.AUDITOR, Role.CATALOG_ADMIN)
PAGE_VERIFY_BOUND = 200_000  # events the "verify integrity" button checks synchronously


def tip_seq() -> int:
    """The newest event's sequence number (0 for an empty trail): one primary-key lookup."""
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def _require_reader(actor: Any, what: str) -> None:
    if actor is not None and not any(r in roles_of(actor) for r in READER_ROLES):
        record_denied(actor=actor, reason=f"{what} is for auditors and catalog admins")
        raise PermissionDeniedError(f"{what} is for auditors and catalog admins.")


def export_events(*, actor: Any, flt: EventFilter, fmt: str, via: str) -> tuple[AuditEvent, Iterator[str]]:
    """Record an ``audit.exported`` event, then return the export as a stream of text chunks.

    The event is written (and committed) before the first byte leaves, because the data
    has left the moment streaming starts; it names the filter, the format and the last
    sequence number included, so the same export can be reproduced later.
    """
    from audit.exporting import FORMATS, iter_events, render

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    _require_reader(actor, "Exporting the audit trail")
    up_to = tip_seq()
    event = record(
        action=Action.AUDIT_EXPORTED,
        actor=actor,
        system_actor=f"cli:{via}" if actor is None else "",
        details={"filter": flt.as_details(), "format": fmt, "up_to_seq": up_to, "via": via},
    )
    return event, render(iter_events(flt, up_to_seq=up_to), fmt)


@dataclass(frozen=True)
class LatestVerification:
    event: AuditEvent | None

    @property
    def ok(self) -> bool | None:
        return None if self.event is None else self.event.action == Action.AUDIT_VERIFIED.value


def latest_verification() -> LatestVerification:
    """The newest recorded verification (by the beat task, a button or the command): two
    index lookups on (action, seq), whatever the trail's length."""
    newest: AuditEvent | None = None
    for action in (Action.AUDIT_VERIFIED, Action.AUDIT_VERIFY_FAILED):
        event = AuditEvent.objects.filter(action=action.value).order_by("-seq").first()
        if event is not None and (newest is None or event.seq > newest.seq):
            newest = event
    return LatestVerification(newest)
