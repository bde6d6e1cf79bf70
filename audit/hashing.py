"""Canonical serialisation and hashing of audit events (shared by append and verify)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_json(payload: dict[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8 kept as is: one text for one event, forever."""
    return _CANONICAL.encode(payload)


def format_at(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_payload(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor_label: str,
    actor_roles: list[str],
    actor_ip: str | None,
    user_agent: str,
    action: str,
    target_type: str,
    target_id: str,
    target_display: str,
    outcome: str,
    details: dict[str, Any],
    request_id: str,
) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": format_at(at),
        "actor_id": actor_id,
        "actor_label": actor_label,
        "actor_roles": actor_roles,
        "actor_ip": actor_ip,
        "user_agent": user_agent,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "target_display": target_display,
        "outcome": outcome,
        "details": details,
        "request_id": request_id,
    }


def chain_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(payload)).encode("utf-8")).hexdigest()
