"""Forms of the access-review and access-report pages: input parsing only; rules live in the services."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import Group

from approvals.forms import DomainErrorsMixin
from approvals.models import Dataset, NoAnswer, Recurrence, ReviewScope


class CampaignForm(DomainErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120)
    scope = forms.ChoiceField(choices=ReviewScope.choices, initial=ReviewScope.SENSITIVE, widget=forms.RadioSelect)
    datasets = forms.ModelMultipleChoiceField(
        queryset=Dataset.objects.order_by("name"), required=False, help_text="Only for “chosen datasets”."
    )
    recurrence = forms.ChoiceField(choices=Recurrence.choices, initial=Recurrence.QUARTERLY)
    duration_days = forms.IntegerField(min_value=1, max_value=90, initial=14, label="Reviewers have (days)")
    on_no_answer = forms.ChoiceField(
        choices=NoAnswer.choices, initial=NoAnswer.REVOKE, label="If reviewers don't respond",
        help_text="Restricted data is always revoked when nobody answers.",
    )  # fmt: skip
    fallback_group = forms.ModelChoiceField(
        queryset=Group.objects.order_by("name"), required=False,
        help_text="Reviews items without a steward, and all items once escalated (default: approval fallback).",
    )  # fmt: skip
    first_run_at = forms.DateTimeField(
        required=False, label="First run (UTC)", help_text="Empty: start at the next sweep.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )  # fmt: skip


class ReviewDecisionForm(forms.Form):
    verdict = forms.ChoiceField(choices=[("certify", "Certify"), ("revoke", "Revoke")])
    reason = forms.CharField(required=False, max_length=2000)
