"""Forms of the approvals pages: dataset and policy editing (catalog admins), a new access
request (data scientists) and a decision (approvers). Rules live in the services; forms only
parse input and show the services' refusals on the right fields."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from approvals import selectors
from approvals.models import ApprovalPolicy, Dataset, Verdict
from catalog.models import Classification
from catalog.providers import Provider
from core import limits
from core.labels import classification_label, provider_label, state_label
from workspaces.models import Workspace

PROVIDER_CHOICES = [
    (Provider.AWS_SAGEMAKER.value, "AWS (S3 prefix)"),
    (Provider.AZURE_ML.value, "Azure (storage scope)"),
]


class DomainErrorsMixin:
    def add_domain_errors(self, field_errors: dict[str, list[str]], message: str) -> None:
        """Show a service's refusal on the fields it names (or on the form)."""
        placed = False
        for field, messages in field_errors.items():
            for text in messages:
                self.add_error(field if field in self.fields else None, text)  # type: ignore[attr-defined]
                placed = True
        if not placed:
            self.add_error(None, message)  # type: ignore[attr-defined]


class DatasetForm(DomainErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120)
    slug = forms.SlugField(max_length=60, help_text="Used in URLs and in the cloud grant's name; keep it stable.")
    description = forms.CharField(widget=forms.Textarea, required=False, max_length=limits.DESCRIPTION_MAX)
    steward = forms.CharField(max_length=150, required=False, help_text="Username of the data owner / steward.")
    classification = forms.ChoiceField(choices=Classification.choices)
    provider = forms.ChoiceField(choices=PROVIDER_CHOICES, label="Cloud")
    location = forms.CharField(
        max_length=400,
        help_text="s3://bucket/prefix/ on AWS, or /subscriptions/…/storageAccounts/<account>[/blobServices/default/"
        "containers/<container>] on Azure.",
    )
    policy = forms.ModelChoiceField(queryset=ApprovalPolicy.objects.all(), label="Approval policy")
    active = forms.BooleanField(required=False, initial=True, help_text="Inactive datasets cannot be requested.")

    @classmethod
    def initial_for(cls, dataset: Dataset) -> dict[str, Any]:
        return {
            "name": dataset.name, "slug": dataset.slug, "description": dataset.description,
            "steward": dataset.steward.get_username() if dataset.steward else "",
            "classification": dataset.classification, "provider": dataset.provider, "location": dataset.location,
            "policy": dataset.policy_id, "active": dataset.active,
        }  # fmt: skip

    def clean_steward(self) -> Any:
        username = (self.cleaned_data.get("steward") or "").strip()
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError("No user with that username.")
        return user


class PolicyForm(DomainErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120)
    approver_group = forms.ModelChoiceField(queryset=Group.objects.order_by("name"), label="Approver group")
    approvals_required = forms.IntegerField(min_value=1, max_value=10, initial=1, label="Distinct approvals needed")
    max_duration_hours = forms.IntegerField(min_value=1, max_value=24 * 366, initial=168, label="Longest grant (hours)")
    justification_required = forms.BooleanField(required=False, initial=True)
    two_person_rule = forms.BooleanField(
        required=False, initial=True, label="Two-person rule for restricted data",
        help_text="Restricted datasets need two distinct approvers, neither of them the requester.",
    )  # fmt: skip
    second_stage_group = forms.ModelChoiceField(
        queryset=Group.objects.order_by("name"), required=False, label="Second stage group (optional)",
        help_text="Decides after the first stage is complete, e.g. the risk team.",
    )  # fmt: skip
    second_stage_approvals = forms.IntegerField(min_value=0, max_value=10, initial=0, required=False)

    @classmethod
    def initial_for(cls, policy: ApprovalPolicy) -> dict[str, Any]:
        return {
            "name": policy.name, "approver_group": policy.approver_group_id,
            "approvals_required": policy.approvals_required, "max_duration_hours": policy.max_duration_hours,
            "justification_required": policy.justification_required, "two_person_rule": policy.two_person_rule,
            "second_stage_group": policy.second_stage_group_id, "second_stage_approvals": policy.second_stage_approvals,
        }  # fmt: skip

    def clean_second_stage_approvals(self) -> int:
        return int(self.cleaned_data.get("second_stage_approvals") or 0)


class WorkspaceChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        ws: Workspace = obj
        return (
            f"{ws.name} ({provider_label(ws.provider)}, {classification_label(ws.data_classification)} data, "
            f"{state_label(ws.state).lower()})"
        )


class DatasetChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        ds: Dataset = obj
        return f"{ds.name} — {ds.get_classification_display()} (up to {ds.policy.max_duration_hours} h)"


class NewRequestForm(DomainErrorsMixin, forms.Form):
    dataset = DatasetChoice(queryset=Dataset.objects.none(), to_field_name="slug")
    workspace = WorkspaceChoice(
        queryset=Workspace.objects.none(), help_text="The grant applies to this workspace's identity only."
    )
    duration_hours = forms.IntegerField(min_value=1, initial=8, label="For how long (hours)")
    justification = forms.CharField(
        widget=forms.Textarea, required=False, max_length=limits.JUSTIFICATION_MAX, help_text="Why you need this data."
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        datasets = selectors.requestable_datasets()
        self.fields["dataset"].queryset = datasets  # type: ignore[attr-defined]
        # Only workspaces that can hold the chosen dataset are offered (same cloud, classified at
        # least as high), so nobody learns after submitting that their workspace does not fit.
        slug = self.data.get("dataset") if self.is_bound else self.initial.get("dataset")
        self.chosen_dataset: Dataset | None = datasets.filter(slug=slug).first() if slug else None
        self.fields["workspace"].queryset = selectors.grantable_workspaces(  # type: ignore[attr-defined]
            user, for_dataset=self.chosen_dataset
        )
        # Choosing a dataset refreshes the workspace choice (htmx; without JavaScript the server still refuses).
        self.fields["dataset"].widget.attrs.update(
            {
                "hx-get": reverse("approvals:new_request"),
                "hx-trigger": "change",
                "hx-target": "#workspace-choice",
                "hx-select": "#workspace-choice",
                "hx-swap": "outerHTML",
            }
        )

    def fitting_catalog_url(self) -> str:
        """The catalog filtered to templates that can hold the chosen dataset."""
        ds = self.chosen_dataset
        if ds is None:
            return reverse("catalog:catalog")
        return (
            f"{reverse('catalog:catalog')}?{urlencode({'provider': ds.provider, 'classification': ds.classification})}"
        )


class DecisionForm(forms.Form):
    verdict = forms.ChoiceField(choices=Verdict.choices)
    comment = forms.CharField(widget=forms.Textarea, required=False, max_length=limits.COMMENT_MAX)
