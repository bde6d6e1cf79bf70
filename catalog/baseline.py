"""The organisation's security baseline and the check every template version must pass to be published.

Four rules are fixed, not settings, because the platform's risk model depends on them: no direct
internet, no root (or public SSH), a customer-managed key. The rest (idle shutdown ceiling, mandatory
tag keys, instance/VM-size allow-lists, volume ceiling) come from the current ``BaselinePolicy`` version.
``check`` returns *every* violation so a catalog admin fixes them all in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog.models import BaselinePolicy
from catalog.providers import Provider
from catalog.specs import AzureMLSpec, HardenedSpec, SageMakerSpec

# The stock baseline, used until a catalog admin saves the first version.
DEFAULT_BASELINE: dict[str, Any] = {
    "max_idle_minutes": 120,
    "mandatory_tag_keys": ["environment", "business-unit"],
    "allowed_instance_types": ["ml.t3.medium", "ml.t3.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.g4dn.xlarge"],
    "allowed_vm_sizes": ["Standard_DS3_v2", "Standard_DS4_v2", "Standard_E4ds_v4", "Standard_NC6s_v3"],
    "max_volume_gb": 200,
}


class Rule:
    """Rule identifiers, as they appear in errors, the API and audit details."""

    INTERNET = "no_internet"
    ROOT = "no_root"
    ENCRYPTION = "customer_managed_key"
    IDLE = "idle_shutdown"
    TAGS = "mandatory_tags"
    SIZES = "allowed_sizes"
    VOLUME = "volume_ceiling"


@dataclass(frozen=True)
class Violation:
    rule: str
    field: str  # the spec field to fix
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "field": self.field, "message": self.message}


def current_baseline() -> BaselinePolicy:
    """The latest baseline version, or the stock baseline (unsaved, version 0) if none was saved yet."""
    latest = BaselinePolicy.objects.order_by("-version").first()
    return latest if latest is not None else BaselinePolicy(version=0, **DEFAULT_BASELINE)


def check(spec: HardenedSpec, baseline: BaselinePolicy) -> list[Violation]:
    """Every way ``spec`` breaks ``baseline``, in a stable order (empty when it complies)."""
    if isinstance(spec, SageMakerSpec):
        return _check_sagemaker(spec, baseline)
    return _check_azure(spec, baseline)


def _common(
    spec: HardenedSpec, baseline: BaselinePolicy, *, idle_field: str, sizes_field: str, allow_list: list[str]
) -> list[Violation]:
    found: list[Violation] = []
    if spec.idle_minutes > baseline.max_idle_minutes:
        found.append(
            Violation(
                Rule.IDLE,
                idle_field,
                f"Idle shutdown is {spec.idle_minutes} minutes; the baseline allows at most "
                f"{baseline.max_idle_minutes} minutes.",
            )
        )
    missing = [key for key in baseline.mandatory_tag_keys if key not in spec.mandatory_tags]
    if missing:
        found.append(Violation(Rule.TAGS, "mandatory_tags", f"Mandatory tag keys are missing: {', '.join(missing)}."))
    outside = [size for size in spec.allowed_sizes if size not in allow_list]
    if outside:
        found.append(Violation(Rule.SIZES, sizes_field, f"Not in the baseline's allow-list: {', '.join(outside)}."))
    return found


def _check_sagemaker(spec: SageMakerSpec, baseline: BaselinePolicy) -> list[Violation]:
    found: list[Violation] = []
    if spec.direct_internet_access != "Disabled":
        found.append(Violation(Rule.INTERNET, "direct_internet_access", "Direct internet access must be Disabled."))
    if spec.root_access != "Disabled":
        found.append(Violation(Rule.ROOT, "root_access", "Root access must be Disabled."))
    if not spec.kms_key_id:
        found.append(
            Violation(Rule.ENCRYPTION, "kms_key_id", "A customer-managed KMS key is required (kms_key_id is empty).")
        )
    found += _common(
        spec,
        baseline,
        idle_field="idle_stop_minutes",
        sizes_field="allowed_instance_types",
        allow_list=list(baseline.allowed_instance_types),
    )
    if spec.volume_size_gb_max > baseline.max_volume_gb:
        found.append(
            Violation(
                Rule.VOLUME,
                "volume_size_gb_max",
                f"The largest volume is {spec.volume_size_gb_max} GB; the baseline ceiling is "
                f"{baseline.max_volume_gb} GB.",
            )
        )
    return found


def _check_azure(spec: AzureMLSpec, baseline: BaselinePolicy) -> list[Violation]:
    found: list[Violation] = []
    if spec.enable_node_public_ip:
        found.append(Violation(Rule.INTERNET, "enable_node_public_ip", "The compute node must not have a public IP."))
    if spec.ssh_public_access != "Disabled":
        found.append(Violation(Rule.ROOT, "ssh_public_access", "Public SSH access must be Disabled."))
    if not spec.customer_managed_key_id:
        found.append(
            Violation(
                Rule.ENCRYPTION,
                "customer_managed_key_id",
                "A customer-managed key is required (customer_managed_key_id is empty).",
            )
        )
    # Azure ML compute instances have a fixed OS disk per VM size, so the volume ceiling
    # is enforced through the VM-size allow-list rather than a per-template disk size.
    found += _common(
        spec,
        baseline,
        idle_field="idle_shutdown_minutes",
        sizes_field="allowed_vm_sizes",
        allow_list=list(baseline.allowed_vm_sizes),
    )
    return found


def guarantees(provider: Provider | str, spec: HardenedSpec) -> list[str]:
    """What a template promises, in plain words for the catalog card."""
    key = spec.encryption_key
    if Provider(provider) == Provider.AWS_SAGEMAKER:
        assert isinstance(spec, SageMakerSpec)
        items = [
            "No direct internet access" if spec.direct_internet_access == "Disabled" else "Direct internet access ON",
            "Root access disabled" if spec.root_access == "Disabled" else "Root access ON",
        ]
    else:
        assert isinstance(spec, AzureMLSpec)
        items = [
            "No direct internet access (no public IP)" if not spec.enable_node_public_ip else "Public IP ON",
            "Root access disabled (no public SSH)" if spec.ssh_public_access == "Disabled" else "Public SSH ON",
        ]
    items.append(f"Encrypted with the bank's key {_key_label(key)}" if key else "Not encrypted with the bank's key")
    items.append(f"Stops after {spec.idle_minutes} idle minutes")
    if spec.max_volume_gb is not None:
        items.append(f"Storage up to {spec.max_volume_gb} GB")
    return items


def _key_label(key: str) -> str:
    """A recognisable, short name for a key: the Key Vault key name, or the end of a KMS key id."""
    if "/keys/" in key:
        return "“" + key.split("/keys/", 1)[1].split("/", 1)[0] + "”"
    return "…" + key[-8:]
