"""Forms for the catalog admin pages.

The hardened-spec form is generated from the provider's pydantic schema (``catalog.specs``), so a
new spec field appears on the page without template work, and schema errors land on the field they
are about.
"""

from __future__ import annotations

import re
import typing
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from catalog.models import Classification
from catalog.providers import Provider
from catalog.specs import SPEC_MODELS, SpecInvalid, parse_spec
from core import limits
from core.errors import DomainError
from core.roles import Role

LIST_SPLIT = re.compile(r"[\s,]+")
TEXTAREA_FIELDS = {"extra_lifecycle_script"}

# What a new template's spec starts from: the hardened choices already made.
STARTER_SPECS: dict[str, dict[str, Any]] = {
    Provider.AWS_SAGEMAKER.value: {
        "direct_internet_access": "Disabled",
        "root_access": "Disabled",
        "allowed_instance_types": ["ml.t3.medium"],
        "default_instance_type": "ml.t3.medium",
        "idle_stop_minutes": 60,
        "mandatory_tags": {"environment": "analytics", "business-unit": ""},
    },
    Provider.AZURE_ML.value: {
        "enable_node_public_ip": False,
        "ssh_public_access": "Disabled",
        "allowed_vm_sizes": ["Standard_DS3_v2"],
        "default_vm_size": "Standard_DS3_v2",
        "idle_shutdown_minutes": 60,
        "mandatory_tags": {"environment": "analytics", "business-unit": ""},
    },
}


class TemplateForm(forms.Form):
    """A template's catalog-facing fields (slug only when creating)."""

    name = forms.CharField(max_length=120)
    slug = forms.SlugField(
        max_length=60, help_text="Used in links and the API; cannot change later.", label="Slug (short name)"
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=limits.DESCRIPTION_MAX)
    intended_use = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=limits.DESCRIPTION_MAX,
        help_text="Who should pick this template, for what.",
    )
    classifications = forms.MultipleChoiceField(
        choices=Classification.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Data classifications it may hold",
    )
    needs_approval = forms.BooleanField(required=False, label="Workspaces need an approver's decision")
    max_workspaces_per_user = forms.IntegerField(min_value=1, max_value=50, initial=2, label="Per-user limit")
    changelog = forms.CharField(
        max_length=limits.CHANGELOG_MAX, required=False, label="What changed", help_text="Shown in the version history."
    )

    def __init__(self, *args: Any, creating: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["slug"]

    def template_values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("slug", None)
        data.pop("changelog", None)
        return data


def _kind(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "choice"
    if origin is list:
        return "list"
    if origin is dict:
        return "dict"
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    return "str"


class SpecForm(forms.Form):
    """The hardened spec of one provider, one form field per schema field."""

    prefix = "spec"

    def __init__(self, provider: str, *args: Any, spec: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.provider = provider
        self.model = SPEC_MODELS[Provider(provider)]
        self.kinds: dict[str, str] = {}
        kwargs["initial"] = self._initial(spec or {})
        super().__init__(*args, **kwargs)
        for name, info in self.model.model_fields.items():
            kind = _kind(info.annotation)
            self.kinds[name] = kind
            label = info.title or name.replace("_", " ").capitalize()
            help_text = info.description or ""
            field: forms.Field
            if kind == "choice":
                choices = [(c, c) for c in typing.get_args(info.annotation)]
                field = forms.ChoiceField(choices=choices, label=label, help_text=help_text)
            elif kind == "bool":
                field = forms.BooleanField(required=False, label=label, help_text=help_text)
            elif kind == "int":
                field = forms.IntegerField(label=label, help_text=help_text, required=info.is_required())
            elif kind == "list":
                field = forms.CharField(
                    label=label,
                    help_text=(help_text + " " if help_text else "") + "One per line.",
                    widget=forms.Textarea(attrs={"rows": 3}),
                    required=False,
                )
            elif kind == "dict":
                field = forms.CharField(
                    label=label,
                    help_text=help_text + " One key=value per line.",
                    widget=forms.Textarea(attrs={"rows": 3}),
                    required=False,
                )
            else:
                widget = forms.Textarea(attrs={"rows": 4}) if name in TEXTAREA_FIELDS else forms.TextInput()
                field = forms.CharField(label=label, help_text=help_text, widget=widget, required=False, strip=True)
            field.widget.attrs.setdefault("data-testid", f"spec-{name}")
            self.fields[name] = field

    def _initial(self, spec: dict[str, Any]) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        for name, value in spec.items():
            if isinstance(value, list):
                initial[name] = "\n".join(str(v) for v in value)
            elif isinstance(value, dict):
                initial[name] = "\n".join(f"{k}={v}" for k, v in value.items())
            else:
                initial[name] = value
        return initial

    def _to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        for name, kind in self.kinds.items():
            value = self.cleaned_data.get(name)
            if kind == "list":
                spec[name] = [v for v in LIST_SPLIT.split(value or "") if v]
            elif kind == "dict":
                tags: dict[str, str] = {}
                for line in (value or "").splitlines():
                    if not line.strip():
                        continue
                    key, sep, val = line.partition("=")
                    if not sep:
                        raise ValidationError({name: f"“{line.strip()}” is not key=value."})
                    tags[key.strip()] = val.strip()
                spec[name] = tags
            elif kind in ("int", "choice") and value in (None, ""):
                continue  # let the schema apply its default or say it is required
            elif kind == "str" and value == "":
                continue  # the schema applies its default, or names the missing required field
            else:
                spec[name] = value
        return spec

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        spec = self._to_spec()
        try:
            self.spec = parse_spec(self.provider, spec).model_dump(mode="json")
        except SpecInvalid as exc:
            apply_errors(self, exc.errors)
        return cleaned


def apply_errors(form: forms.Form, errors: dict[str, list[str]], *, strip_prefix: str = "") -> dict[str, list[str]]:
    """Attach ``field → messages`` (dotted schema paths allowed) to ``form``; return those it has no field for."""
    leftovers: dict[str, list[str]] = {}
    for key, messages in errors.items():
        if strip_prefix:
            if not key.startswith(strip_prefix):
                leftovers[key] = messages
                continue
            key = key[len(strip_prefix) :]
        head, _, rest = key.partition(".")
        if head in form.fields:
            for message in messages:
                form.add_error(head, f"{rest}: {message}" if rest else message)
        else:
            leftovers[key] = messages
    return leftovers


def apply_domain_error(exc: DomainError, meta: forms.Form, spec: forms.Form | None = None) -> None:
    """Show a service refusal on the forms: spec fields on the spec form, others on the main form."""
    errors = dict(exc.field_errors)
    if spec is not None:
        errors = apply_errors(spec, errors, strip_prefix="spec.")
    leftovers = apply_errors(meta, errors)
    if leftovers or not exc.field_errors:
        meta.add_error(None, exc.message)


class BaselineForm(forms.Form):
    max_idle_minutes = forms.IntegerField(min_value=5, max_value=1440, label="Longest idle time (minutes)")
    max_volume_gb = forms.IntegerField(min_value=5, max_value=16384, label="Volume ceiling (GB)")
    mandatory_tag_keys = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="One per line."
    )
    allowed_instance_types = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), required=False, help_text="SageMaker, one per line."
    )
    allowed_vm_sizes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text="Azure ML, one per line.",
        label="Allowed VM sizes",
    )
    change_note = forms.CharField(max_length=300, label="Why (kept with the version)")

    LIST_FIELDS = ("mandatory_tag_keys", "allowed_instance_types", "allowed_vm_sizes")

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for name in self.LIST_FIELDS:
            data[name] = [v.strip() for v in re.split(r"[\n,]+", data[name] or "") if v.strip()]
        return data


class PriceForm(forms.Form):
    provider = forms.ChoiceField(
        choices=[(Provider.AWS_SAGEMAKER.value, "AWS SageMaker"), (Provider.AZURE_ML.value, "Azure ML")]
    )
    size = forms.CharField(max_length=40, label="Instance type / VM size")
    hourly_price = forms.DecimalField(min_value=0, max_digits=10, decimal_places=4, label="Price per hour")
    currency = forms.CharField(max_length=3, initial="EUR")


class QuotaForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    max_running = forms.IntegerField(min_value=0, max_value=100, label="Running at once")
    max_total = forms.IntegerField(min_value=0, max_value=100, label="In total")
