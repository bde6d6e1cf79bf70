"""The approval seam: ``workspaces`` asks the registered gate, and fails closed without one."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from approvals.models import AccessRequest
from approvals.workspace_hooks import WorkspaceApprovalGate
from tests.factories import TemplateVersionFactory
from workspaces import gates, services
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def approval_template(db: Any) -> Any:
    return TemplateVersionFactory(template__slug="sm-gated", template__needs_approval=True).template


def test_the_approvals_app_registers_its_gate_at_start_up():
    assert isinstance(gates.gate(), WorkspaceApprovalGate)


def test_a_workspace_needing_approval_lands_in_the_inbox_through_the_gate(
    scientist, request_kwargs, approval_template, task_queue
):
    ws = services.request_workspace(scientist, **{**request_kwargs, "template_slug": "sm-gated"})

    assert ws.state == "pending_approval"
    assert AccessRequest.objects.filter(workspace=ws, kind="workspace", state="pending").count() == 1


def test_without_a_gate_a_template_needing_approval_cannot_be_requested(
    scientist, request_kwargs, approval_template, task_queue, monkeypatch
):
    monkeypatch.setattr(gates, "_gate", None)

    with pytest.raises(ImproperlyConfigured):
        services.request_workspace(scientist, **{**request_kwargs, "template_slug": "sm-gated"})

    assert not Workspace.objects.exists()  # nothing was built without an approval
    assert task_queue.sent == []
