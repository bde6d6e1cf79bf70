"""Reads of the audit trail: keyset-paginated, filtered pages (newest first), one event with
its neighbours in the chain, and the auditor's dashboard panel.

Pages are cut by ``seq`` (``seq < cursor ORDER BY seq DESC LIMIT n+1``), never by OFFSET
or COUNT, so a page costs the same few indexed queries at event 100 or event 10 million.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from audit.filters import EventFilter
from audit.hashing import chain_hash, event_payload
from audit.models import AuditEvent
from audit.services import READER_ROLES, tip_seq
from core.roles import has_role

PAGE_SIZE = 50  # portal.pagination.DEFAULT_LIMIT (audit sits below portal and cannot import it)
MAX_PAGE_SIZE = 200  # portal.pagination.MAX_LIMIT


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    older: int | None  # cursor for the next (older) page: show seq < older
    newer: int | None  # cursor for the previous (newer) page: show seq > newer


def event_page(
    flt: EventFilter, *, before: int | None = None, after: int | None = None, size: int = PAGE_SIZE
) -> EventPage:
    """One page of matching events, newest first, starting below ``before`` or above ``after``."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    qs = flt.apply(AuditEvent.objects.all())
    if after is not None:
        rows = list(qs.filter(seq__gt=after).order_by("seq")[: size + 1])
        more_newer = len(rows) > size
        events = list(reversed(rows[:size]))
        return EventPage(events, older=events[-1].seq if events else None, newer=events[0].seq if more_newer else None)
    if before is not None:
        qs = qs.filter(seq__lt=before)
    rows = list(qs.order_by("-seq")[: size + 1])
    events = rows[:size]
    return EventPage(
        events,
        older=events[-1].seq if len(rows) > size else None,
        newer=events[0].seq if before is not None and events else None,
    )


@dataclass(frozen=True)
class ChainLink:
    event: AuditEvent
    previous: AuditEvent | None
    following: AuditEvent | None
    recomputed_hash: str

    @property
    def content_ok(self) -> bool:
        return self.recomputed_hash == self.event.hash

    @property
    def previous_links(self) -> bool:
        if self.event.seq == 1:
            return self.event.prev_hash == "0" * 64
        return self.previous is not None and self.previous.hash == self.event.prev_hash

    @property
    def following_links(self) -> bool | None:
        return None if self.following is None else self.following.prev_hash == self.event.hash


def chain_link(seq: int) -> ChainLink | None:
    """The event with the events before and after it (one query) and its recomputed hash."""
    rows = {e.seq: e for e in AuditEvent.objects.filter(seq__in=[seq - 1, seq, seq + 1])}
    event = rows.get(seq)
    if event is None:
        return None
    payload = event_payload(
        seq=event.seq, at=event.at, actor_id=event.actor_id, actor_label=event.actor_label,
        actor_roles=event.actor_roles, actor_ip=event.actor_ip, user_agent=event.user_agent, action=event.action,
        target_type=event.target_type, target_id=event.target_id, target_display=event.target_display,
        outcome=event.outcome, details=event.details, request_id=event.request_id,
    )  # fmt: skip
    return ChainLink(event, rows.get(seq - 1), rows.get(seq + 1), chain_hash(event.prev_hash, payload))


def dashboard_panels(user: Any) -> list[dict[str, Any]]:
    if not has_role(user, *READER_ROLES):
        return []
    from audit.anchoring.selectors import anchor_status

    anchoring = anchor_status()
    latest = anchoring.verification
    if latest.event is None:
        status = "not yet verified"
    else:
        status = ("verified" if latest.ok else "BROKEN") + f" {latest.event.at:%d %b %H:%M} UTC"
    warning = " ATTENTION: " + " ".join(anchoring.alerts) if anchoring.alerts else ""
    return [
        {
            "key": "audit",
            "title": "Audit trail",
            "text": f"Tamper-evident record of every action. Integrity: {status}.{warning}",
            "stats": [("Events", tip_seq())],
            "links": [("Search the trail", reverse("audit:events"))],
        }
    ]
