"""The workspace request form: its choices come from the template's published version,
so a data scientist can only pick what the hardened spec allows."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from catalog.models import Classification, Template
from catalog.specs import HardenedSpec


class RequestWorkspaceForm(forms.Form):
    name = forms.CharField(max_length=60, help_text="Your label for it, e.g. “churn model”.")
    instance_type = forms.ChoiceField(label="Instance size")
    volume_size_gb = forms.IntegerField(label="Storage volume (GB)", required=False)
    data_classification = forms.ChoiceField(label="Data classification")
    cost_centre = forms.CharField(max_length=64, help_text="Charged for the running time.")

    def __init__(self, *args: Any, template: Template, spec: HardenedSpec, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sizes = cast(forms.ChoiceField, self.fields["instance_type"])
        sizes.choices = [(s, s) for s in spec.allowed_sizes]
        sizes.initial = spec.default_size
        labels = dict(Classification.choices)
        # No default: a pre-selected "Internal" let people build a workspace that cannot hold the
        # confidential data they came for, and they found out only when asking for the data.
        classification = cast(forms.ChoiceField, self.fields["data_classification"])
        classification.choices = [("", "Choose the most sensitive data you will use…")] + [
            (c, labels.get(c, c)) for c in template.classifications
        ]
        classification.help_text = (
            "A workspace can only receive datasets classified at or below this. "
            "Datasets of a higher classification will need another workspace."
        )
        if spec.max_volume_gb is None:
            del self.fields["volume_size_gb"]
        else:
            low = int(getattr(spec, "volume_size_gb_min", 5))
            field = cast(forms.IntegerField, self.fields["volume_size_gb"])
            field.min_value, field.max_value = low, spec.max_volume_gb
            field.widget.attrs.update({"min": low, "max": spec.max_volume_gb})
            field.validators += [MinValueValidator(low), MaxValueValidator(spec.max_volume_gb)]
            field.initial = int(getattr(spec, "volume_size_gb_default", low))
            field.help_text = f"Between {low} and {spec.max_volume_gb} GB."

    def add_domain_errors(self, field_errors: dict[str, list[str]], message: str) -> None:
        """Show a service's refusal on the fields it names (or on the form)."""
        placed = False
        for field, messages in field_errors.items():
            for text in messages:
                self.add_error(field if field in self.fields else None, text)
                placed = True
        if not placed:
            self.add_error(None, message)
