"""factory_boy factories for the domain objects tests build."""

from __future__ import annotations

import uuid
from typing import Any

import factory
from django.contrib.auth import get_user_model

from core.roles import Role, role_group


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@bank.example")
    display_name = factory.LazyAttribute(lambda o: o.username.replace(".", " ").title())
    cost_centre = "CC-1001"
    entra_object_id = factory.Faker("uuid4")
    password = factory.django.Password("correct-horse-battery-staple")

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **_: Any) -> None:
        if create and extracted:
            self.groups.add(*[role_group(Role(r)) for r in extracted])  # type: ignore[attr-defined]


# --- Catalog (templates and versions) ------------------------------------------------------------
AWS_ACCOUNT = "123456789012"
AZURE_SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
BASELINE_TAGS = {"environment": "analytics", "business-unit": "risk"}


def sagemaker_spec(**overrides: Any) -> dict[str, Any]:
    """A SageMaker spec that satisfies the stock baseline; override fields to break it."""
    spec: dict[str, Any] = {
        "subnet_id": "subnet-0a1b2c3d4e5f60718",
        "security_group_ids": ["sg-0a1b2c3d4e5f60718"],
        "kms_key_id": f"arn:aws:kms:eu-west-1:{AWS_ACCOUNT}:key/1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9",
        "direct_internet_access": "Disabled",
        "root_access": "Disabled",
        "allowed_instance_types": ["ml.t3.medium", "ml.t3.large"],
        "default_instance_type": "ml.t3.medium",
        "volume_size_gb_min": 5,
        "volume_size_gb_max": 50,
        "volume_size_gb_default": 20,
        "idle_stop_minutes": 60,
        "permissions_boundary_arn": f"arn:aws:iam::{AWS_ACCOUNT}:policy/enclave-boundary",
        "mandatory_tags": dict(BASELINE_TAGS),
    }
    spec.update(overrides)
    return spec


def azureml_spec(**overrides: Any) -> dict[str, Any]:
    """An Azure ML spec that satisfies the stock baseline; override fields to break it."""
    spec: dict[str, Any] = {
        "subscription_id": AZURE_SUBSCRIPTION,
        "resource_group": "rg-enclave",
        "workspace_name": "mlw-enclave",
        "location": "westeurope",
        "subnet_id": f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/rg-net/providers/Microsoft.Network/"
        "virtualNetworks/vnet/subnets/snet",
        "customer_managed_key_id": "https://kv-enclave.vault.azure.net/keys/cmk",
        "enable_node_public_ip": False,
        "ssh_public_access": "Disabled",
        "allowed_vm_sizes": ["Standard_DS3_v2"],
        "default_vm_size": "Standard_DS3_v2",
        "idle_shutdown_minutes": 60,
        "mandatory_tags": dict(BASELINE_TAGS),
    }
    spec.update(overrides)
    return spec


class TemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "catalog.Template"

    slug = factory.Sequence(lambda n: f"template-{n}")
    name = factory.Sequence(lambda n: f"Template {n}")
    provider = "aws_sagemaker"
    description = "A hardened notebook."
    intended_use = "Analysis."
    classifications = factory.LazyFunction(lambda: ["internal", "confidential"])
    needs_approval = False
    max_workspaces_per_user = 2
    created_by = factory.SubFactory(UserFactory)


class TemplateVersionFactory(factory.django.DjangoModelFactory):
    """A version written directly (no baseline check); ``status`` defaults to published."""

    class Meta:
        model = "catalog.TemplateVersion"

    template = factory.SubFactory(TemplateFactory)
    number = factory.Sequence(lambda n: n + 1)
    spec = factory.LazyAttribute(lambda o: azureml_spec() if o.template.provider == "azure_ml" else sagemaker_spec())
    status = "published"
    changelog = ""
    created_by = factory.LazyAttribute(lambda o: o.template.created_by)


# --- Workspaces ----------------------------------------------------------------------------------
class WorkspaceFactory(factory.django.DjangoModelFactory):
    """A workspace row written directly (no service, no task); ``state`` defaults to requested."""

    class Meta:
        model = "workspaces.Workspace"

    owner = factory.SubFactory(UserFactory, roles=["data_scientist"])
    template_version = factory.SubFactory(TemplateVersionFactory)
    name = factory.Sequence(lambda n: f"workspace {n}")
    provider = factory.LazyAttribute(lambda o: o.template_version.template.provider)
    instance_type = factory.LazyAttribute(lambda o: "Standard_DS3_v2" if o.provider == "azure_ml" else "ml.t3.medium")
    volume_size_gb = 20
    data_classification = "internal"
    cost_centre = "CC-1001"
    resource_name = factory.LazyAttribute(lambda o: f"enclave-{o.id.hex[:12]}")
    id = factory.LazyFunction(uuid.uuid4)


# --- Datasets and approval policies ----------------------------------------------------------------
class ApprovalPolicyFactory(factory.django.DjangoModelFactory):
    """A policy deciding by the approver role group; one approval, up to a week."""

    class Meta:
        model = "approvals.ApprovalPolicy"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Policy {n}")
    approver_group = factory.LazyFunction(lambda: role_group(Role.APPROVER))
    approvals_required = 1
    max_duration_hours = 168
    justification_required = True
    two_person_rule = True


class DatasetFactory(factory.django.DjangoModelFactory):
    """A confidential AWS dataset at an S3 prefix, under its own policy."""

    class Meta:
        model = "approvals.Dataset"

    slug = factory.Sequence(lambda n: f"dataset-{n}")
    name = factory.Sequence(lambda n: f"Dataset {n}")
    description = "Production data."
    classification = "confidential"
    provider = "aws_sagemaker"
    location = factory.LazyAttribute(lambda o: f"s3://enclave-test-data/{o.slug}/")
    policy = factory.SubFactory(ApprovalPolicyFactory)
