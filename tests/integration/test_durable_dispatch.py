"""The broker is down while a scientist requests a workspace: the request is recorded, the API
answers 201 with JSON and the page shows it queued; once the broker is back, the sweeper (as beat
runs it) hands the work to a real worker and the workspace reaches running with one instance.

Real PostgreSQL, a private ``redis-server`` the test stops and restarts, a real worker process
and the AWS stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.factories import TemplateVersionFactory, UserFactory
from tests.fixtures.celery_worker import start_worker, stop_worker, wait_for
from tests.integration.durable_helpers import PrivateRedis, point_celery_at
from workspaces import sweeper
from workspaces.backends import get_backend
from workspaces.models import Workspace

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture
def private_broker(tmp_path: Path, require_redis: str) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path)
    redis.start()
    point_celery_at(redis.url)
    try:
        yield redis
    finally:
        point_celery_at(settings.CELERY_BROKER_URL)
        redis.stop()


@pytest.fixture
def private_worker(private_broker: PrivateRedis, aws_stand_in: Any, tmp_path: Path, transactional_db: Any) -> Any:
    get_backend.cache_clear()
    handle = start_worker(tmp_path, concurrency=1, extra_env={"REDIS_URL": private_broker.url})
    yield handle
    stop_worker(handle)
    get_backend.cache_clear()


def test_a_request_made_while_the_broker_is_down_is_answered_recorded_and_built_once_it_is_back(
    private_broker, private_worker, clean_aws, sagemaker_hardening
):
    template: Any = TemplateVersionFactory(
        template__slug="sm-secure", template__provider="aws_sagemaker", spec=sagemaker_hardening
    ).template
    owner: Any = UserFactory(username="bea.broker", roles=["data_scientist"], cost_centre="CC-1")
    private_broker.stop()

    api = APIClient()
    api.force_authenticate(owner)
    answer = api.post(
        "/api/v1/workspaces",
        {"template": template.slug, "name": "outage", "instance_type": "ml.t3.medium",
         "data_classification": "confidential"},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 201, answer.content[:500]
    assert answer["Content-Type"].startswith("application/json")
    body = answer.json()
    assert body["state"] == "requested"
    ws = Workspace.objects.get(pk=body["id"])
    assert AuditEvent.objects.filter(action="workspace.requested", target_id=str(ws.pk)).count() == 1

    page = Client()
    page.force_login(owner)
    detail = page.get(reverse("workspaces:detail", kwargs={"pk": ws.pk}))
    assert detail.status_code == 200
    assert "Queued — starts within a minute." in detail.content.decode()

    private_broker.start()  # the broker is back; nobody touches the workspace, beat runs the sweeper

    def running() -> bool:
        sweeper.sweep_all()
        state = Workspace.objects.values_list("state", flat=True).get(pk=ws.pk)
        assert state != "failed", private_worker.log()[-3000:]
        return state == "running"

    wait_for(running, timeout=150, interval=3, what="the workspace to be running after the broker came back")
    names = [n["NotebookInstanceName"] for n in clean_aws.sagemaker.list_notebook_instances()["NotebookInstances"]]
    assert names == [ws.resource_name]
    assert AuditEvent.objects.filter(action="workspace.provisioning", target_id=str(ws.pk)).count() == 1
