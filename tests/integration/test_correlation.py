"""One correlation id follows a click to the cloud and back: the id of the web request that
asked for a workspace is on the audit events the Celery worker records for it, and on the
structured log lines written while handling it."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from audit.models import AuditEvent
from core import context
from portal.logging import make_formatter
from tests.factories import TemplateVersionFactory, UserFactory
from tests.fixtures.celery_worker import wait_for
from workspaces.models import Workspace

REQUEST_ID = "corr-test-7f3a9c1d"


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_the_request_id_of_the_click_is_on_the_workers_audit_events(
    aws_stand_in: Any, celery_worker: Any, transactional_db: Any, client: Any, sagemaker_hardening: dict[str, Any]
):  # fmt: skip
    version: Any = TemplateVersionFactory(
        template__slug="corr", template__provider="aws_sagemaker", spec=sagemaker_hardening
    )
    owner: Any = UserFactory(username="cory.relation", roles=["data_scientist"])
    client.force_login(owner)

    response = client.post(
        f"/catalog/request/{version.template.slug}/",
        {"name": "traced", "instance_type": "ml.t3.medium", "volume_size_gb": 20,
         "data_classification": "confidential", "cost_centre": "CC-1001"},
        HTTP_X_REQUEST_ID=REQUEST_ID,
    )  # fmt: skip

    assert response.status_code == 302, response.content[:500]
    assert response["X-Request-ID"] == REQUEST_ID
    ws = Workspace.objects.get(owner=owner)
    wait_for(
        lambda: AuditEvent.objects.filter(target_id=str(ws.pk), action="workspace.running").exists(),
        timeout=120, what="the worker to record workspace.running",
    )  # fmt: skip
    events = AuditEvent.objects.filter(target_id=str(ws.pk)).order_by("seq")
    by_worker = [e for e in events if e.actor_label.startswith("task:")]
    assert [e.action for e in events][:3] == ["workspace.requested", "workspace.provisioning", "workspace.running"]
    assert by_worker, "the worker recorded nothing"
    assert {e.request_id for e in events} == {REQUEST_ID}


def test_log_lines_carry_the_request_id_as_json():
    record = logging.LogRecord("enclave.test", logging.INFO, __file__, 1, "workspace requested", None, None)
    with context.bind(request_id=REQUEST_ID):
        line = make_formatter("json").format(record)

    payload = json.loads(line)
    assert payload["event"] == "workspace requested"
    assert payload["request_id"] == REQUEST_ID
    assert payload["level"] == "info"
