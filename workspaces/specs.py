"""The hardened spec of a template version, one schema per provider.

A spec is validated here for shape (field-level errors a catalog admin can
fix); whether it is *allowed* is the organisation baseline's job
(``workspaces.baseline``), so a draft that breaks policy can still be saved
and shown with every violation listed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from workspaces.backends.base import Provider

Toggle = Literal["Enabled", "Disabled"]
TagKey = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9 _.:/=+\-@]+$")]
TagValue = Annotated[str, Field(max_length=256)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mandatory_tags: dict[TagKey, TagValue] = Field(default_factory=dict)

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


class SageMakerSpec(_Spec):
    """An AWS SageMaker notebook instance."""

    subnet_id: str = Field(pattern=r"^subnet-[0-9a-f]{8,17}$")
    security_group_ids: list[Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(min_length=1, max_length=5)
    kms_key_id: str = Field(
        pattern=r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}|[0-9a-f-]{36})$",
        description="Customer-managed KMS key (id or ARN) encrypting the ML storage volume.",
    )
    direct_internet_access: Toggle = "Disabled"
    root_access: Toggle = "Disabled"
    allowed_instance_types: list[Annotated[str, Field(pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")]] = Field(min_length=1)
    default_instance_type: str
    volume_size_gb_min: int = Field(default=5, ge=5, le=16384)
    volume_size_gb_max: int = Field(default=50, ge=5, le=16384)
    volume_size_gb_default: int = Field(default=20, ge=5, le=16384)
    platform_identifier: str = Field(default="notebook-al2-v3", pattern=r"^notebook-al\d+-v\d+$")
    idle_stop_minutes: int = Field(default=60, ge=5, le=1440)
    extra_lifecycle_script: str = Field(default="", max_length=16000)
    permissions_boundary_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:policy/[\w+=,.@/-]+$")

    @model_validator(mode="after")
    def _check_defaults(self) -> SageMakerSpec:
        if self.default_instance_type not in self.allowed_instance_types:
            raise ValueError("default_instance_type must be one of allowed_instance_types")
        if not self.volume_size_gb_min <= self.volume_size_gb_default <= self.volume_size_gb_max:
            raise ValueError("volume sizes must satisfy min <= default <= max")
        return self

    @property
    def allowed_sizes(self) -> list[str]:
        return list(self.allowed_instance_types)

    @property
    def default_size(self) -> str:
        return self.default_instance_type

    @property
    def idle_minutes(self) -> int:
        return self.idle_stop_minutes


class AzureMLSpec(_Spec):
    """An Azure ML compute instance."""

    subscription_id: str = Field(pattern=r"^[0-9a-fA-F-]{36}$")
    resource_group: str = Field(min_length=1, max_length=90, pattern=r"^[\w.()-]+$")
    workspace_name: str = Field(min_length=3, max_length=33, pattern=r"^[A-Za-z0-9][\w-]+$")
    location: str = Field(default="westeurope", pattern=r"^[a-z0-9]+$")
    subnet_id: str = Field(
        pattern=r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+/subnets/[^/]+$"
    )
    customer_managed_key_id: str = Field(
        default="",
        description="Key Vault key URL of the workspace's customer-managed encryption key.",
    )
    enable_node_public_ip: bool = False
    ssh_public_access: Toggle = "Disabled"
    allowed_vm_sizes: list[Annotated[str, Field(pattern=r"^Standard_[A-Za-z0-9_]+$")]] = Field(min_length=1)
    default_vm_size: str
    idle_shutdown_minutes: int = Field(default=60, ge=15, le=1440)

    @model_validator(mode="after")
    def _check_defaults(self) -> AzureMLSpec:
        if self.default_vm_size not in self.allowed_vm_sizes:
            raise ValueError("default_vm_size must be one of allowed_vm_sizes")
        return self

    @property
    def allowed_sizes(self) -> list[str]:
        return list(self.allowed_vm_sizes)

    @property
    def default_size(self) -> str:
        return self.default_vm_size

    @property
    def idle_minutes(self) -> int:
        return self.idle_shutdown_minutes


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
            errors.setdefault(key, []).append(err["msg"])
        raise SpecInvalid(errors) from exc


def json_schema(provider: Provider | str) -> dict[str, Any]:
    return SPEC_MODELS[Provider(provider)].model_json_schema()
