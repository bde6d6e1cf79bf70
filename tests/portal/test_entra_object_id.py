"""The Entra object id an Azure ML compute instance is assigned to comes from the user's
identity at the configured Entra provider (or what SCIM/an administrator recorded), never
from another IdP's ``oid`` claim."""

from __future__ import annotations

from typing import Any

import pytest

from portal.identity.selectors import entra_object_id_for
from portal.models import Identity
from tests.factories import TemplateFactory, TemplateVersionFactory, UserFactory, WorkspaceFactory
from workspaces.services import build_spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(db: Any) -> Any:
    user: Any = UserFactory(username="pat", entra_object_id="")
    return user


def test_the_subject_of_the_entra_identity_is_the_object_id_when_the_subject_claim_is_oid(person, settings):
    settings.ENCLAVE_ENTRA_PROVIDER = "entra"
    settings.ENCLAVE_SSO_PROVIDERS = {"entra": {"subject_claim": "oid"}}
    Identity.objects.create(user=person, provider="entra", issuer="i", subject="oid-from-entra")
    Identity.objects.create(user=person, provider="okta", issuer="o", subject="00u1", claims={"oid": "oid-from-okta"})

    assert entra_object_id_for(person) == "oid-from-entra"


def test_the_oid_claim_of_the_entra_identity_is_used_when_its_subject_is_sub(person, settings):
    settings.ENCLAVE_ENTRA_PROVIDER = "entra"
    settings.ENCLAVE_SSO_PROVIDERS = {"entra": {"subject_claim": "sub"}}
    Identity.objects.create(user=person, provider="entra", issuer="i", subject="pairwise", claims={"oid": "oid-1"})

    assert entra_object_id_for(person) == "oid-1"


def test_without_an_entra_identity_the_recorded_object_id_is_used(person, settings):
    settings.ENCLAVE_ENTRA_PROVIDER = "entra"
    person.entra_object_id = "oid-from-scim"
    person.save()
    Identity.objects.create(user=person, provider="okta", issuer="o", subject="00u1", claims={"oid": "oid-from-okta"})

    assert entra_object_id_for(person) == "oid-from-scim"


def test_the_azure_workspace_spec_carries_the_entra_identitys_object_id(person, settings):
    settings.ENCLAVE_ENTRA_PROVIDER = "entra"
    settings.ENCLAVE_SSO_PROVIDERS = {"entra": {"subject_claim": "oid"}}
    Identity.objects.create(user=person, provider="entra", issuer="i", subject="oid-from-entra")
    version = TemplateVersionFactory(template=TemplateFactory(provider="azure_ml"))
    ws: Any = WorkspaceFactory(owner=person, template_version=version)

    assert build_spec(ws).owner_cloud_id == "oid-from-entra"
