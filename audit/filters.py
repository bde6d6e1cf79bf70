"""Searching the audit trail: one filter, parsed from the page's query string, the API's
query parameters or the ``audit export`` command line, applied to one queryset.

Every filter is an equality or a range that an index on (column, seq) or ``at`` serves, so
a page of results costs one indexed query however long the trail is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audit.actions import Outcome
from audit.labels import grouped_choices, outcome_choice_label
from audit.models import AuditEvent


@dataclass(frozen=True)
class EventFilter:
    since: datetime | None = None
    until: datetime | None = None
    actor: str = ""  # a username (its events, whatever later happened to the user) or a system actor label
    action: str = ""
    outcome: str = ""
    target_type: str = ""
    target_id: str = ""
    request_id: str = ""

    def apply(self, qs: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        if self.since is not None:
            qs = qs.filter(at__gte=self.since)
        if self.until is not None:
            qs = qs.filter(at__lt=self.until)
        if self.actor:
            user_id = get_user_model().objects.filter(username=self.actor).values_list("pk", flat=True).first()
            if user_id is not None:
                qs = qs.filter(actor_id=user_id)
            else:  # a system actor (task:..., idp:...): served by the partial index audit_system_actor_seq
                qs = qs.filter(actor_id__isnull=True, actor_label=self.actor)
        if self.action:
            qs = qs.filter(action=self.action)
        if self.outcome:
            qs = qs.filter(outcome=self.outcome)
        if self.target_type:
            qs = qs.filter(target_type=self.target_type)
        if self.target_id:
            qs = qs.filter(target_id=self.target_id)
        if self.request_id:
            qs = qs.filter(request_id=self.request_id)
        return qs

    def as_details(self) -> dict[str, str]:
        """The filter as recorded in an ``audit.exported`` event (only what was set)."""
        out: dict[str, str] = {}
        for key, value in asdict(self).items():
            if value:
                out[key] = value.isoformat() if isinstance(value, datetime) else str(value)
        return out

    @property
    def active(self) -> bool:
        return bool(self.as_details())


def parse_moment(text: str, *, end: bool = False) -> datetime:
    """An ISO date or date-time; a bare date means its start (or, with ``end``, the next
    day's start, so ``--until 2025-01-31`` includes the 31st). Naive values are UTC."""
    text = text.strip()
    # A bare date first: on Python 3.11+ ``parse_datetime`` also accepts "2025-01-31" (as midnight),
    # which would silently drop the last day of an ``--until`` range.
    day = parse_date(text) if len(text) == 10 else None
    moment = None if day is not None else parse_datetime(text)
    if moment is None:
        if day is None:
            raise ValueError(f"not a date or date-time: {text!r}")
        moment = datetime(day.year, day.month, day.day)
        if end:
            moment += timedelta(days=1)
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


def parse_target(text: str) -> tuple[str, str]:
    """``TYPE:ID`` (``workspaces.workspace:42``) or just ``TYPE``."""
    ttype, _, tid = text.strip().partition(":")
    return ttype.strip(), tid.strip()


class MomentField(forms.CharField):
    def __init__(self, *, end: bool = False, **kwargs: Any) -> None:
        self.end = end
        super().__init__(required=False, **kwargs)

    def clean(self, value: Any) -> datetime | None:  # type: ignore[override]
        text = super().clean(value)
        if not text:
            return None
        try:
            return parse_moment(text, end=self.end)
        except ValueError as exc:
            raise forms.ValidationError("Enter a date (2025-01-31) or a date and time (2025-01-31T09:00).") from exc


class EventFilterForm(forms.Form):
    # Date pickers (the browser's own); a typed ISO date or date-time is still accepted.
    since = MomentField(
        label="From", help_text="UTC", widget=forms.TextInput(attrs={"type": "datetime-local", "step": 1})
    )
    until = MomentField(
        label="Until",
        end=True,
        help_text="UTC, exclusive",
        widget=forms.TextInput(attrs={"type": "datetime-local", "step": 1}),
    )
    actor = forms.CharField(required=False, max_length=200, label="Actor")
    # Grouped by area, in people's words; the stored code is what is filtered on (and exported).
    action = forms.ChoiceField(required=False, choices=[("", "any action"), *grouped_choices()], label="Action")
    outcome = forms.ChoiceField(
        required=False,
        choices=[("", "any outcome"), *[(o.value, outcome_choice_label(o.value)) for o in Outcome]],
        label="Outcome",
    )
    target_type = forms.CharField(required=False, max_length=80, label="Target type")
    target_id = forms.CharField(required=False, max_length=80, label="Target id")
    request_id = forms.CharField(required=False, max_length=64, label="Request id")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            self.add_error("until", "Must be after From.")
        return data

    def to_filter(self) -> EventFilter:
        """The filter (call after ``is_valid()``; invalid fields are left out)."""
        data = getattr(self, "cleaned_data", {})
        return EventFilter(
            since=data.get("since"),
            until=data.get("until"),
            actor=(data.get("actor") or "").strip(),
            action=data.get("action") or "",
            outcome=data.get("outcome") or "",
            target_type=(data.get("target_type") or "").strip(),
            target_id=(data.get("target_id") or "").strip(),
            request_id=(data.get("request_id") or "").strip(),
        )
