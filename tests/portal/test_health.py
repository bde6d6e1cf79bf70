"""/readyz and manage.py doctor: a clear answer, and a failure when something is wrong."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from portal import health

pytestmark = pytest.mark.django_db


def broker_down() -> health.Check:
    raise ConnectionRefusedError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")


def test_readyz_answers_503_with_the_failing_check_when_the_broker_is_down(client, monkeypatch):
    monkeypatch.setattr(health, "broker", broker_down)
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"
    assert "Connection refused" in answer.json()["checks"]["broker"]


def test_readyz_answers_200_when_database_and_broker_answer(client, monkeypatch):
    monkeypatch.setattr(health, "broker", lambda: health.Check("broker", True, "answered"))
    assert client.get("/readyz").status_code == 200


def test_healthz_stays_a_database_round_trip_even_when_the_broker_is_down(client, monkeypatch):
    monkeypatch.setattr(health, "broker", broker_down)
    assert client.get("/healthz").status_code == 200


def test_doctor_reports_every_check_and_fails_when_one_fails(monkeypatch):
    monkeypatch.setattr(health, "broker", broker_down)
    monkeypatch.setattr(health, "workers", lambda: health.Check("workers", True, "1 answered: w@host"))
    monkeypatch.setattr(
        health, "_PROBES", {"overdue workspaces": lambda: health.Check("overdue workspaces", True, "none")}
    )
    out = io.StringIO()
    with pytest.raises(CommandError, match="broker"):
        call_command("doctor", stdout=out)
    report = out.getvalue()
    assert "FAIL broker" in report
    assert "ok   database" in report
    assert "ok   overdue workspaces" in report
