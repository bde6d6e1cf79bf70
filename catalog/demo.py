"""The embedded demo's catalog: a baseline, a price table, role quotas and three published templates.

``seed_catalog`` goes through the catalog services (so everything it creates is audited, as the
admin given) and is idempotent: what exists is left alone, what is missing is created.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from catalog import services
from catalog.baseline import DEFAULT_BASELINE
from catalog.models import BaselinePolicy, InstancePrice, RoleQuota, Template, VersionStatus
from catalog.providers import Provider
from core.roles import Role

AWS_ACCOUNT = "123456789012"
AZURE_SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
DEMO_TAGS = {"environment": "analytics", "business-unit": "risk-analytics"}

AWS_BASE_SPEC: dict[str, Any] = {
    "subnet_id": "subnet-0a1b2c3d4e5f60718",
    "security_group_ids": ["sg-0a1b2c3d4e5f60718"],
    "kms_key_id": f"arn:aws:kms:eu-west-1:{AWS_ACCOUNT}:key/1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9",
    "direct_internet_access": "Disabled",
    "root_access": "Disabled",
    "permissions_boundary_arn": f"arn:aws:iam::{AWS_ACCOUNT}:policy/enclave-workspace-boundary",
    "mandatory_tags": DEMO_TAGS,
}

DEMO_TEMPLATES: list[dict[str, Any]] = [
    {
        "slug": "standard-python-sagemaker",
        "name": "Standard Python notebook (SageMaker)",
        "provider": Provider.AWS_SAGEMAKER.value,
        "description": "A private JupyterLab notebook with the bank's Python data-science image.",
        "intended_use": "Everyday analysis and model prototyping on internal and confidential data.",
        "classifications": ["internal", "confidential"],
        "needs_approval": False,
        "max_workspaces_per_user": 2,
        "spec": {
            **AWS_BASE_SPEC,
            "allowed_instance_types": ["ml.t3.medium", "ml.t3.large", "ml.m5.xlarge"],
            "default_instance_type": "ml.t3.medium",
            "volume_size_gb_min": 5,
            "volume_size_gb_max": 50,
            "volume_size_gb_default": 20,
            "idle_stop_minutes": 60,
        },
    },
    {
        "slug": "secure-azure-ml",
        "name": "Secure Azure ML compute instance",
        "provider": Provider.AZURE_ML.value,
        "description": "A personal Azure ML compute instance in the analytics VNet, assigned to you alone.",
        "intended_use": "Teams working in Azure ML studio with confidential data.",
        "classifications": ["internal", "confidential"],
        "needs_approval": False,
        "max_workspaces_per_user": 1,
        "spec": {
            "subscription_id": AZURE_SUBSCRIPTION,
            "resource_group": "rg-enclave-analytics",
            "workspace_name": "mlw-enclave-analytics",
            "location": "westeurope",
            "subnet_id": f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/rg-enclave-network/providers/"
            "Microsoft.Network/virtualNetworks/vnet-analytics/subnets/snet-compute",
            "customer_managed_key_id": "https://kv-enclave-cmk.vault.azure.net/keys/enclave-cmk",
            "enable_node_public_ip": False,
            "ssh_public_access": "Disabled",
            "allowed_vm_sizes": ["Standard_DS3_v2", "Standard_DS4_v2"],
            "default_vm_size": "Standard_DS3_v2",
            "idle_shutdown_minutes": 60,
            "mandatory_tags": DEMO_TAGS,
        },
    },
    {
        "slug": "gpu-notebook-sagemaker",
        "name": "GPU notebook (SageMaker)",
        "provider": Provider.AWS_SAGEMAKER.value,
        "description": "A GPU notebook for training deep-learning models; expensive, so an approver decides.",
        "intended_use": "Model training that needs a GPU; stop it when the job is done.",
        "classifications": ["internal", "confidential", "restricted"],
        "needs_approval": True,
        "max_workspaces_per_user": 1,
        "spec": {
            **AWS_BASE_SPEC,
            "allowed_instance_types": ["ml.g4dn.xlarge"],
            "default_instance_type": "ml.g4dn.xlarge",
            "volume_size_gb_min": 20,
            "volume_size_gb_max": 200,
            "volume_size_gb_default": 100,
            "idle_stop_minutes": 30,
        },
    },
]

DEMO_PRICES: list[tuple[str, str, str]] = [
    (Provider.AWS_SAGEMAKER.value, "ml.t3.medium", "0.0580"),
    (Provider.AWS_SAGEMAKER.value, "ml.t3.large", "0.1160"),
    (Provider.AWS_SAGEMAKER.value, "ml.m5.xlarge", "0.2690"),
    (Provider.AWS_SAGEMAKER.value, "ml.m5.2xlarge", "0.5380"),
    (Provider.AWS_SAGEMAKER.value, "ml.g4dn.xlarge", "0.8250"),
    (Provider.AZURE_ML.value, "Standard_DS3_v2", "0.2930"),
    (Provider.AZURE_ML.value, "Standard_DS4_v2", "0.5860"),
    (Provider.AZURE_ML.value, "Standard_E4ds_v4", "0.3220"),
    (Provider.AZURE_ML.value, "Standard_NC6s_v3", "3.4200"),
]

DEMO_QUOTAS: dict[str, tuple[int, int]] = {Role.DATA_SCIENTIST.value: (2, 4)}


@transaction.atomic
def seed_catalog(admin_user: Any) -> None:
    """Create the demo catalog as ``admin_user`` (a catalog admin); idempotent."""
    if not BaselinePolicy.objects.exists():
        services.change_baseline(admin_user, change_note="Demo baseline", **DEFAULT_BASELINE)
    for provider, size, price in DEMO_PRICES:
        if not InstancePrice.objects.filter(provider=provider, size=size).exists():
            services.set_price(admin_user, provider=provider, size=size, hourly_price=price, currency="EUR")
    for role, (running, total) in DEMO_QUOTAS.items():
        if not RoleQuota.objects.filter(role=role).exists():
            services.set_role_quota(admin_user, role=role, max_running=running, max_total=total)
    for entry in DEMO_TEMPLATES:
        template = Template.objects.filter(slug=entry["slug"]).first()
        if template is None:
            fields = {k: v for k, v in entry.items() if k not in ("slug", "provider", "spec")}
            version = services.create_template(
                admin_user,
                slug=entry["slug"],
                provider=entry["provider"],
                spec=entry["spec"],
                changelog="Demo template",
                **fields,
            )
            services.publish_version(admin_user, version)
            continue
        draft = template.versions.filter(status=VersionStatus.DRAFT).first()
        if draft is not None and not template.versions.filter(status=VersionStatus.PUBLISHED).exists():
            services.publish_version(admin_user, draft)
