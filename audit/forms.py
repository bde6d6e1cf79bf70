"""The evidence-pack form on the auditor pages."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone


class EvidencePackForm(forms.Form):
    since = forms.DateField(label="From (UTC)", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To (UTC, inclusive)", widget=forms.DateInput(attrs={"type": "date"}))
    dataset = forms.SlugField(label="Dataset (slug)", required=False, max_length=60)
    user = forms.CharField(label="User (username)", required=False, max_length=150)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("The period must end after it starts.")
        return data

    def period(self) -> tuple[datetime, datetime]:
        """[start of ``since``, start of the day after ``until``) in UTC."""
        utc = timezone.get_fixed_timezone(0)
        since = datetime.combine(self.cleaned_data["since"], time.min, tzinfo=utc)
        until = datetime.combine(self.cleaned_data["until"], time.min, tzinfo=utc) + timedelta(days=1)
        return since, until
