"""Every compute instance create body Enclave can build is declared by Azure's published definition.

The definition is derived here, at test time, from the generated models Microsoft ships in
``azure-ai-ml`` (not from the fake ARM's snapshot, nor from anything we wrote), at the
api-version the backend sends. A property outside it fails with its JSON path.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from catalog.baseline import DEFAULT_BASELINE
from catalog.demo import DEMO_TEMPLATES
from catalog.specs import AzureMLSpec
from devtools.fake_arm.published import ML, derive_published_schema
from devtools.fake_arm.validation import problems
from tests.fixtures.azure import FAKE_TENANT_ID, OWNER_OBJECT_ID
from workspaces.backends.azureml import API_VERSION, build_compute_instance_body
from workspaces.backends.base import Provider, WorkspaceSpec

AZURE_TEMPLATES = [t for t in DEMO_TEMPLATES if t["provider"] == Provider.AZURE_ML.value]
SPEC_FIELDS = AzureMLSpec.model_fields
# The choices a baseline-compliant Azure template can make that change the body: every VM size the
# baseline allows, idle shutdown from the spec's minimum to the baseline's ceiling, the node's public
# IP either way (the body must be well-formed even when the baseline check would refuse it), and no
# extra tags or the most a template may add.
VM_SIZES = list(DEFAULT_BASELINE["allowed_vm_sizes"])
IDLE_MINUTES = sorted({15, 60, int(DEFAULT_BASELINE["max_idle_minutes"])})
PUBLIC_IP = [False, True]
EXTRA_TAGS: list[dict[str, str]] = [{}, {f"extra-{n}": "x" * 256 for n in range(30)}]
VARIANTS = list(itertools.product(VM_SIZES, IDLE_MINUTES, PUBLIC_IP, range(len(EXTRA_TAGS))))


@pytest.fixture(scope="module")
def published() -> dict[str, Any]:
    schema = derive_published_schema()[ML]
    assert schema["source"]["api_version"] == API_VERSION
    return schema


def spec_for(
    template: dict[str, Any], vm_size: str, idle: int, public_ip: bool, extra_tags: dict[str, str]
) -> WorkspaceSpec:
    hardening = {
        **template["spec"],
        "allowed_vm_sizes": VM_SIZES,
        "default_vm_size": vm_size,
        "idle_shutdown_minutes": idle,
        "enable_node_public_ip": public_ip,
    }
    AzureMLSpec.model_validate(hardening)
    tags = {
        **hardening["mandatory_tags"],
        **extra_tags,
        "owner": "sam.scientist",
        "template": template["slug"],
        "template-version": "1",
        "cost-centre": "CC-1234",
        "data-classification": template["classifications"][-1],
    }
    return WorkspaceSpec(
        workspace_id="3f2a9c1d-4e5b-4c6d-8e7f-0123456789ab",
        resource_name="enclave-3f2a9c1d4e5b",
        owner_username="sam.scientist",
        owner_cloud_id=OWNER_OBJECT_ID,
        template_slug=template["slug"],
        template_version=1,
        instance_type=vm_size,
        volume_size_gb=64,
        data_classification=template["classifications"][-1],
        cost_centre="CC-1234",
        hardening=hardening,
        tags=tags,
    )


def plain_spec() -> WorkspaceSpec:
    return spec_for(AZURE_TEMPLATES[0], VM_SIZES[0], 60, False, {})


def undeclared(body: dict[str, Any], published: dict[str, Any]) -> list[str]:
    return [str(p) for p in problems(body, published, "ComputeResource", operation="create")]


def test_the_demo_catalog_has_an_azure_template_to_check() -> None:
    assert AZURE_TEMPLATES


@pytest.mark.parametrize("template", AZURE_TEMPLATES, ids=lambda t: t["slug"])
@pytest.mark.parametrize(("vm_size", "idle", "public_ip", "tags"), VARIANTS)
def test_every_create_body_is_declared_by_the_published_definition(
    published: dict[str, Any], template: dict[str, Any], vm_size: str, idle: int, public_ip: bool, tags: int
) -> None:
    spec = spec_for(template, vm_size, idle, public_ip, EXTRA_TAGS[tags])

    body = build_compute_instance_body(spec, tenant_id=FAKE_TENANT_ID)

    assert undeclared(body, published) == []
    assert body["properties"]["properties"]["idleTimeBeforeShutdown"] == f"PT{idle}M"


def test_a_property_outside_the_definition_fails_with_its_json_path(published: dict[str, Any]) -> None:
    body = build_compute_instance_body(plain_spec(), tenant_id=FAKE_TENANT_ID)
    body["properties"]["properties"]["sshSettings"]["adminPassword"] = "hunter2"
    body["properties"]["properties"]["applicationSharingPolicy"] = "Everyone"

    assert sorted(undeclared(body, published)) == [
        "properties.properties.applicationSharingPolicy: "
        "Error converting value \"Everyone\" to type 'ApplicationSharingPolicy'.",
        "properties.properties.sshSettings.adminPassword: "
        "Could not find member 'adminPassword' on object of type 'ComputeInstanceSshSettings'.",
    ]


def test_a_read_only_property_is_not_part_of_a_create_body(published: dict[str, Any]) -> None:
    body = build_compute_instance_body(plain_spec(), tenant_id=FAKE_TENANT_ID)
    body["properties"]["properties"]["state"] = "Running"

    assert undeclared(body, published) == [
        "properties.properties.state: Could not find member 'state' on object of type 'ComputeInstanceProperties'."
    ]
