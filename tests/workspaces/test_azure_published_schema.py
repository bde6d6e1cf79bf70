"""The fake ARM's schema is Azure's published definition as Microsoft's generated models state it."""

from __future__ import annotations

import json
from importlib import metadata

from devtools.fake_arm.published import (
    AUTHORIZATION,
    ML,
    SNAPSHOT,
    derive_published_schema,
    load_published_schema,
)
from workspaces.backends.azureml import API_VERSION, AUTHORIZATION_API_VERSION


def test_the_checked_in_snapshot_is_what_the_installed_packages_derive() -> None:
    derived = derive_published_schema()

    assert json.loads(SNAPSHOT.read_text()) == derived, (
        "devtools/fake_arm/published_schema.json is stale: run python -m devtools.fake_arm.write_schema"
    )


def test_the_schema_comes_from_microsofts_generated_models_at_the_api_versions_the_backend_sends() -> None:
    sources = {name: namespace["source"] for name, namespace in load_published_schema().items()}

    assert sources[ML] == {
        "package": "azure-ai-ml",
        "version": metadata.version("azure-ai-ml"),
        "module": "azure.ai.ml._restclient.arm_ml_service.models",
        "api_version": API_VERSION,
    }
    assert sources[AUTHORIZATION] == {
        "package": "azure-mgmt-authorization",
        "version": metadata.version("azure-mgmt-authorization"),
        "module": "azure.mgmt.authorization.v2022_04_01.models",
        "api_version": AUTHORIZATION_API_VERSION,
    }


def test_compute_instance_properties_declare_idle_shutdown_for_create_and_update() -> None:
    models = load_published_schema()[ML]["models"]

    idle = models["ComputeInstanceProperties"]["properties"]["idleTimeBeforeShutdown"]

    assert idle["type"] == {"kind": "string"}
    assert {"create", "update"} <= set(idle["visibility"])


def test_the_compute_discriminator_leads_to_compute_instance() -> None:
    compute = load_published_schema()[ML]["models"]["Compute"]

    assert compute["discriminator"] == "computeType"
    assert compute["subtypes"]["ComputeInstance"] == "ComputeInstance"


def test_enums_are_taken_from_the_generated_enum_module() -> None:
    models = load_published_schema()[ML]["models"]

    ssh = models["ComputeInstanceSshSettings"]["properties"]["sshPublicAccess"]["type"]
    identity = models["ManagedServiceIdentity"]["properties"]["type"]["type"]

    assert ssh == {"kind": "enum", "name": "SshPublicAccess", "values": ["Enabled", "Disabled"]}
    assert "SystemAssigned" in identity["values"]


def test_role_assignment_properties_keep_msrests_required_and_read_only_rules() -> None:
    models = load_published_schema()[AUTHORIZATION]["models"]

    properties = models["RoleAssignmentCreateParameters.properties"]["properties"]

    assert properties["roleDefinitionId"]["required"] is True
    assert properties["principalId"]["required"] is True
    assert properties["scope"]["visibility"] == ["read"]
    assert properties["principalType"]["type"]["name"] == "PrincipalType"
