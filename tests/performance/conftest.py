"""A world that grows: the same list pages measured at 20 rows and again at 2,000."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings

from approvals.models import AccessRequest
from audit.actions import Action
from audit.services import record
from tests.factories import DatasetFactory, TemplateVersionFactory, UserFactory, WorkspaceFactory
from workspaces.models import Workspace


@dataclass
class World:
    scientist: Any
    requester: Any
    approver: Any
    auditor: Any
    version: Any
    dataset: Any
    requester_ws: Any
    rows: int = 0

    def grow_to(self, n: int) -> None:
        """``n`` of each listed thing: the scientist's workspaces (also the fleet), pending requests in
        the approver's inbox (also the requester's "my requests") and audit events."""
        add = n - self.rows
        Workspace.objects.bulk_create(
            [
                WorkspaceFactory.build(owner=self.scientist, template_version=self.version, state="running")
                for _ in range(add)
            ]
        )
        policy = self.dataset.policy
        AccessRequest.objects.bulk_create(
            [
                AccessRequest(
                    requester=self.requester,
                    dataset=self.dataset,
                    workspace=self.requester_ws,
                    policy=policy,
                    justification="Quarterly model",
                    duration_hours=24,
                    approver_group=policy.approver_group,
                    approvals_required=1,
                )
                for _ in range(add)
            ]
        )
        with transaction.atomic():
            for i in range(add):
                record(
                    action=Action.WORKSPACE_REQUESTED,
                    actor=self.scientist,
                    target=("workspaces.workspace", str(i), "ws"),
                )
        self.rows = n


@pytest.fixture(autouse=True)
def _no_mfa() -> Iterator[None]:
    """These tests count queries; MFA has its own tests (the approver and admin would be asked for it)."""
    with override_settings(ENCLAVE_MFA_REQUIRED_ROLES=[]):
        yield


@pytest.fixture
def world(db: Any) -> World:
    return make_world()


def make_world() -> World:
    version = TemplateVersionFactory()
    requester = UserFactory(username="rita.requester", roles=["data_scientist"])
    return World(
        scientist=UserFactory(username="sam.scientist", roles=["data_scientist"]),
        requester=requester,
        approver=UserFactory(username="alex.approver", roles=["approver"]),
        auditor=UserFactory(username="aud.auditor", roles=["auditor", "catalog_admin"]),
        version=version,
        dataset=DatasetFactory(),
        requester_ws=WorkspaceFactory(owner=requester, template_version=version, state="running"),
    )
