"""Reconciliation tells the truth whichever process runs it: each workspace is looked up in its
cloud by its recorded identity, "missing" needs a second definitive not-found some time later, and
moves made outside Enclave are recorded as drift and shown on the fleet page with the provider's
current status. Run against both stand-ins (moto for AWS, the fake ARM for Azure), with the
workspace built by the real worker and each reconciliation in a fresh process that never touched
the Azure ML workspace, with default settings (``ENCLAVE_AZURE_WORKSPACES`` empty)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory
from tests.fixtures.celery_worker import ROOT, _database_url
from tests.integration.test_workspace_lifecycle import (  # noqa: F401 - fixtures used by name
    Cloud,
    _aws_cloud,
    _azure_cloud,
    ask,
    aws_template,
    azure_template,
    owner,
    stand_ins_worker,
    wait_state,
)
from workspaces.backends import get_backend
from workspaces.backends.base import CloudRef, CloudState
from workspaces.models import Workspace

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
CONFIRM_SECONDS = 2


@pytest.fixture(params=["aws", "azure"])
def cloud(request: pytest.FixtureRequest) -> Cloud:
    return _aws_cloud(request) if request.param == "aws" else _azure_cloud(request)


def reconcile_in_a_fresh_process() -> str:
    """``reconcile_all()`` as a worker that has never seen these workspaces would run it."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "PYTHONPATH": str(ROOT),
        "ENCLAVE_AZURE_WORKSPACES": "",
        "ENCLAVE_MISSING_CONFIRM_SECONDS": str(CONFIRM_SECONDS),
    }
    code = "import django; django.setup(); from workspaces.reconcile import reconcile_all; print(reconcile_all())"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def out_of_band(ws: Workspace, what: str) -> None:
    """Someone in the cloud console stops or deletes the resource (a backend with no database)."""
    get_backend.cache_clear()
    backend = get_backend(ws.provider)
    ref = CloudRef.from_json(ws.cloud_ref)
    deadline = time.monotonic() + 60
    if what == "stop":
        backend.stop(ref)
        while backend.describe(ref).state != CloudState.STOPPED:
            assert time.monotonic() < deadline, "the out-of-band stop did not finish"
            time.sleep(0.5)
    else:
        while backend.delete(ref).state != CloudState.DELETED:
            assert time.monotonic() < deadline, "the out-of-band delete did not finish"
            time.sleep(0.5)


def fleet_row(ws: Workspace) -> str:
    client = Client()
    auditor: Any = UserFactory(username=f"aud.{ws.provider}", roles=["auditor"])
    client.force_login(auditor)
    page = client.get(reverse("workspaces:fleet")).content.decode()
    return page.split(f'data-testid="fleet-row-{ws.pk}"', 1)[1].split("</tr>", 1)[0]


def test_reconciliation_from_any_process_follows_the_cloud_and_records_drift(stand_ins_worker, cloud, owner):  # noqa: F811
    ws = wait_state(ask(owner, cloud.template, cloud.size), "running", stand_ins_worker)

    reconcile_in_a_fresh_process()
    ws.refresh_from_db()
    assert ws.state == "running"  # never failed from a listing that does not cover it
    assert ws.cloud_status == cloud.running_word
    assert ws.drift == []

    out_of_band(ws, "stop")
    reconcile_in_a_fresh_process()
    ws.refresh_from_db()
    assert ws.state == "stopped"
    assert ws.drift == ["stopped outside Enclave"]
    row = fleet_row(ws)
    assert "stopped outside Enclave" in row
    assert f'data-testid="cloud-status">{cloud.stopped_word}<' in row

    out_of_band(ws, "delete")
    reconcile_in_a_fresh_process()
    ws.refresh_from_db()
    assert ws.state == "stopped"  # one not-found is not yet "missing"
    assert ws.missing_since is not None

    time.sleep(CONFIRM_SECONDS + 0.5)
    reconcile_in_a_fresh_process()  # another process, the second look
    ws.refresh_from_db()
    assert ws.state == "failed"
    assert "missing in cloud" in ws.drift
    assert "no longer exists" in ws.last_error
    assert "missing in cloud" in fleet_row(ws)
