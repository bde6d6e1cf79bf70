"""The hardened spec of a template version, one schema per provider.

A spec is validated here for shape (field-level errors a catalog admin can
fix); whether it is *allowed* is the organisation baseline's job
(``catalog.baseline``), so a draft that breaks policy can still be saved
and shown with every violation listed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from catalog.providers import Provider

Toggle = Literal["Enabled", "Disabled"]
TagKey = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9 _.:/=+\-@]+$")]
TagValue = Annotated[str, Field(max_length=256)]
KMS_KEY_PATTERN = r"^(|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}|[0-9a-f-]{36})$"
KEY_VAULT_KEY_PATTERN = r"^(|https://[A-Za-z0-9.-]+(:\d+)?/keys/[A-Za-z0-9-]+(/[A-Za-z0-9]+)?)$"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mandatory_tags: dict[TagKey, TagValue] = Field(
        default_factory=dict,
        title="Mandatory tags",
        description="Tags every workspace built from this template carries (the baseline lists the required keys).",
    )

    # Provider-neutral accessors used by the request service and the pages.
    @property
    def allowed_sizes(self) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def default_size(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def idle_minutes(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def encryption_key(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def max_volume_gb(self) -> int | None:
        """Largest storage volume a workspace may ask for, where the provider lets the template choose."""
        return None


def _one_of(value: str, info: ValidationInfo, allowed_field: str) -> str:
    allowed = info.data.get(allowed_field)
    if allowed is not None and value not in allowed:
        raise ValueError(f"must be one of {allowed_field} ({', '.join(allowed)})")
    return value


class SageMakerSpec(_Spec):
    """An AWS SageMaker notebook instance."""

    subnet_id: str = Field(pattern=r"^subnet-[0-9a-f]{8,17}$", title="Subnet", description="Private subnet id.")
    security_group_ids: list[Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(
        min_length=1, max_length=5, title="Security groups"
    )
    # Optional in the schema so a draft without a key can be saved and shown; the
    # baseline refuses to publish it (catalog.baseline).
    kms_key_id: str = Field(
        default="",
        pattern=KMS_KEY_PATTERN,
        title="KMS key",
        description="Customer-managed KMS key (id or ARN) encrypting the ML storage volume.",
    )
    direct_internet_access: Toggle = Field(default="Disabled", title="Direct internet access")
    root_access: Toggle = Field(default="Disabled", title="Root access")
    allowed_instance_types: list[Annotated[str, Field(pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")]] = Field(
        min_length=1, title="Allowed instance types"
    )
    default_instance_type: str = Field(title="Default instance type")
    volume_size_gb_min: int = Field(default=5, ge=5, le=16384, title="Smallest volume (GB)")
    volume_size_gb_max: int = Field(default=50, ge=5, le=16384, title="Largest volume (GB)")
    volume_size_gb_default: int = Field(default=20, ge=5, le=16384, title="Default volume (GB)")
    platform_identifier: str = Field(default="notebook-al2-v3", pattern=r"^notebook-al\d+-v\d+$", title="Platform")
    idle_stop_minutes: int = Field(default=60, ge=5, le=1440, title="Stop after idle (minutes)")
    extra_lifecycle_script: str = Field(default="", max_length=16000, title="Extra lifecycle script")
    permissions_boundary_arn: str = Field(
        pattern=r"^arn:aws[a-z-]*:iam::\d{12}:policy/[\w+=,.@/-]+$",
        title="Permissions boundary",
        description="IAM policy bounding every workspace execution role.",
    )

    @field_validator("default_instance_type")
    @classmethod
    def _default_type_allowed(cls, value: str, info: ValidationInfo) -> str:
        return _one_of(value, info, "allowed_instance_types")

    @field_validator("volume_size_gb_max")
    @classmethod
    def _max_above_min(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("volume_size_gb_min")
        if low is not None and value < low:
            raise ValueError("must be at least volume_size_gb_min")
        return value

    @field_validator("volume_size_gb_default")
    @classmethod
    def _default_within_range(cls, value: int, info: ValidationInfo) -> int:
        low, high = info.data.get("volume_size_gb_min"), info.data.get("volume_size_gb_max")
        if low is not None and high is not None and not low <= value <= high:
            raise ValueError("must be between volume_size_gb_min and volume_size_gb_max")
        return value

    @property
    def allowed_sizes(self) -> list[str]:
        return list(self.allowed_instance_types)

    @property
    def default_size(self) -> str:
        return self.default_instance_type

    @property
    def idle_minutes(self) -> int:
        return self.idle_stop_minutes

    @property
    def encryption_key(self) -> str:
        return self.kms_key_id

    @property
    def max_volume_gb(self) -> int | None:
        return self.volume_size_gb_max


class AzureMLSpec(_Spec):
    """An Azure ML compute instance."""

    subscription_id: str = Field(pattern=r"^[0-9a-fA-F-]{36}$", title="Subscription")
    resource_group: str = Field(min_length=1, max_length=90, pattern=r"^[\w.()-]+$", title="Resource group")
    workspace_name: str = Field(min_length=3, max_length=33, pattern=r"^[A-Za-z0-9][\w-]+$", title="Azure ML workspace")
    location: str = Field(default="westeurope", pattern=r"^[a-z0-9]+$", title="Region")
    subnet_id: str = Field(
        pattern=r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+/subnets/[^/]+$",
        title="Subnet",
        description="Full resource id of the private subnet.",
    )
    customer_managed_key_id: str = Field(
        default="",
        pattern=KEY_VAULT_KEY_PATTERN,
        title="Customer-managed key",
        description="Key Vault key URL of the workspace's customer-managed encryption key.",
    )
    enable_node_public_ip: bool = Field(default=False, title="Public IP on the node")
    ssh_public_access: Toggle = Field(default="Disabled", title="Public SSH access")
    allowed_vm_sizes: list[Annotated[str, Field(pattern=r"^Standard_[A-Za-z0-9_]+$")]] = Field(
        min_length=1, title="Allowed VM sizes"
    )
    default_vm_size: str = Field(title="Default VM size")
    idle_shutdown_minutes: int = Field(default=60, ge=15, le=1440, title="Shut down after idle (minutes)")

    @field_validator("default_vm_size")
    @classmethod
    def _default_size_allowed(cls, value: str, info: ValidationInfo) -> str:
        return _one_of(value, info, "allowed_vm_sizes")

    @property
    def allowed_sizes(self) -> list[str]:
        return list(self.allowed_vm_sizes)

    @property
    def default_size(self) -> str:
        return self.default_vm_size

    @property
    def idle_minutes(self) -> int:
        return self.idle_shutdown_minutes

    @property
    def encryption_key(self) -> str:
        return self.customer_managed_key_id


HardenedSpec = SageMakerSpec | AzureMLSpec

SPEC_MODELS: dict[Provider, type[SageMakerSpec] | type[AzureMLSpec]] = {
    Provider.AWS_SAGEMAKER: SageMakerSpec,
    Provider.AZURE_ML: AzureMLSpec,
}


class SpecInvalid(Exception):
    """The spec does not match its provider's schema; ``errors`` maps field → messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def parse_spec(provider: Provider | str, data: dict[str, Any]) -> HardenedSpec:
    """Validate ``data`` against the provider's schema or raise ``SpecInvalid``."""
    model = SPEC_MODELS[Provider(provider)]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "__all__"
            message = err["msg"].removeprefix("Value error, ")
            errors.setdefault(key, []).append(message)
        raise SpecInvalid(errors) from exc


def json_schema(provider: Provider | str) -> dict[str, Any]:
    return SPEC_MODELS[Provider(provider)].model_json_schema()
