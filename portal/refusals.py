"""Refusals recorded in the audit trail without letting an attacker flood it.

Every refused authentication (forged, revoked or expired token, failed sign-in, lock-out, CSRF
failure, rate limit) is an audit event — but at most ``ENCLAVE_REFUSAL_AUDIT_PER_MINUTE`` per kind
per source address per minute, and at most ``ENCLAVE_REFUSAL_AUDIT_GLOBAL_PER_MINUTE`` per kind from
all sources together (so rotating addresses does not help). The first refusal past a bound records
one ``auth.refusals_suppressed`` event saying so; the rest of that minute is only logged. Counters live
in the shared cache (Redis in production), so the bound holds across web processes.
"""

from __future__ import annotations

import logging
import time
from enum import Enum
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from audit.actions import Action, Outcome
from audit.services import Target, record
from portal.middleware import client_ip

logger = logging.getLogger("enclave.refusals")

KIND_ACTIONS = {
    "token_rejected": Action.AUTH_TOKEN_REJECTED,
    "token_mfa_required": Action.AUTH_TOKEN_MFA_REQUIRED,
    "csrf_failed": Action.AUTH_CSRF_FAILED,
    "throttled": Action.AUTH_THROTTLED,
    "login_failed": Action.AUTH_LOGIN_FAILED,
    "locked_out": Action.AUTH_LOCKED_OUT,
}


class Verdict(Enum):
    RECORD = "record"
    SUMMARISE = "summarise"  # the first refusal past the bound: one event saying the rest go unrecorded
    DROP = "drop"


def _count(key: str) -> int:
    if cache.add(key, 1, timeout=120):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=120)
        return 1


def admit(kind: str, source: str) -> Verdict:
    """Whether this refusal of ``kind`` from ``source`` is recorded, summarised or only logged."""
    minute = int(time.time() // 60)
    per_source = _count(f"enclave:refusals:{kind}:{source}:{minute}")
    overall = _count(f"enclave:refusals:{kind}:*:{minute}")
    source_bound = settings.ENCLAVE_REFUSAL_AUDIT_PER_MINUTE
    global_bound = settings.ENCLAVE_REFUSAL_AUDIT_GLOBAL_PER_MINUTE
    if per_source <= source_bound and overall <= global_bound:
        return Verdict.RECORD
    if per_source == source_bound + 1 or overall == global_bound + 1:
        return Verdict.SUMMARISE
    return Verdict.DROP


def record_refusal(
    request: HttpRequest | None,
    *,
    kind: str,
    reason: str,
    actor: Any = None,
    target: Target = None,
    **details: Any,
) -> None:
    """Record one refusal of ``kind`` (a key of ``KIND_ACTIONS``), within the flood bounds."""
    source = (client_ip(request) if request is not None else None) or "unknown"
    verdict = admit(kind, source)
    if request is not None:
        details.setdefault("path", request.path[:300])
        details.setdefault("method", request.method)
    if actor is not None and not getattr(actor, "is_authenticated", True):
        actor = None
    system_actor = "" if actor is not None else "anonymous"
    if verdict is Verdict.RECORD:
        record(
            action=KIND_ACTIONS[kind],
            actor=actor,
            target=target,
            outcome=Outcome.DENIED,
            system_actor=system_actor,
            details={"reason": reason[:300], **details},
        )
    elif verdict is Verdict.SUMMARISE:
        record(
            action=Action.AUTH_REFUSALS_SUPPRESSED,
            outcome=Outcome.DENIED,
            system_actor="anonymous",
            details={
                "kind": kind,
                "source": source,
                "reason": "more refusals of this kind than the audit bound allows this minute; "
                "further ones are logged, not recorded one by one, until the minute ends",
                "per_source_bound": settings.ENCLAVE_REFUSAL_AUDIT_PER_MINUTE,
                "global_bound": settings.ENCLAVE_REFUSAL_AUDIT_GLOBAL_PER_MINUTE,
            },
        )
    else:
        # Debug only: past the bound, a warning per refusal would move the flood into the logs.
        logger.debug("refusal not recorded (flood bound): %s from %s: %s", kind, source, reason[:200])
