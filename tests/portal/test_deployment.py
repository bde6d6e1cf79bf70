"""docker-compose.yml is the production deployment; there is no Docker engine here, so
these tests read it and check it against the settings the code actually reads."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from portal.envvars import is_known, read_by_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("web", "worker", "beat")
_SUBST = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def _command(service: str) -> str:
    cmd = SERVICES[service]["command"]
    return " ".join(cmd) if isinstance(cmd, list) else cmd


def _example_env() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.startswith("#")}


def _resolve(value: str, env: dict[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        default = re.match(r"\$\{[A-Z0-9_]+:-([^}]*)\}", match.group(0))
        return env.get(name) or (default.group(1) if default else "")

    return _SUBST.sub(sub, str(value))


def test_compose_has_every_production_service_with_a_healthcheck():
    assert set(SERVICES) == {"web", "worker", "beat", "postgres", "redis", "mailcatcher"}
    for name, service in SERVICES.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_app_services_run_gunicorn_a_scalable_worker_and_the_database_beat_scheduler():
    assert re.search(
        r"migrate --noinput && python manage.py ensure_schedules && exec gunicorn portal.wsgi", _command("web")
    )
    assert re.search(r"celery -A portal worker .*-Q enclave", _command("worker"))
    assert "container_name" not in SERVICES["worker"], "a fixed container name prevents --scale worker=N"
    assert "ports" not in SERVICES["worker"]
    assert "django_celery_beat.schedulers:DatabaseScheduler" in _command("beat")


def test_every_variable_compose_sets_is_one_the_settings_read():
    for service in APP_SERVICES:
        env = SERVICES[service]["environment"]
        unknown = sorted(k for k in env if not is_known(k))
        assert not unknown, f"{service} sets variables the code never reads: {unknown}"


def test_compose_points_the_app_at_postgres_redis_and_the_mail_catcher():
    env = SERVICES["web"]["environment"]
    assert env["ENCLAVE_ENV"] == "production"
    assert env["DATABASE_URL"].startswith("postgres://")
    assert "@postgres:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"].startswith("redis://redis:6379")
    assert env["EMAIL_URL"].startswith("smtp://mailcatcher:")
    assert SERVICES["worker"]["environment"] == env == SERVICES["beat"]["environment"]


def test_no_secret_is_committed_in_compose():
    for service in (*APP_SERVICES, "postgres"):
        for key, value in SERVICES[service]["environment"].items():
            if re.search(r"SECRET|PASSWORD|TOKEN", key) or "PASSWORD" in str(value):
                assert "${" in str(value), f"{service}.{key} must come from the environment, not the file"


def test_the_queue_the_worker_consumes_is_the_one_tasks_are_sent_to(settings: Any):
    assert "-Q enclave" in _command("worker")
    assert (
        "CELERY_QUEUE" not in SERVICES["web"]["environment"]
        or SERVICES["web"]["environment"]["CELERY_QUEUE"] == "enclave"
    )
    assert os.environ.get("CELERY_QUEUE") != "enclave"  # tests use a private queue


@pytest.mark.timeout(120)
def test_compose_environment_passes_the_production_deploy_check():
    example = _example_env()
    env = {k: _resolve(v, example) for k, v in SERVICES["web"]["environment"].items()}
    env["DATABASE_URL"] = "postgres://enclave:x@127.0.0.1:5432/enclave"  # the host name only exists inside compose
    env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    env.update({"PATH": os.environ["PATH"], "ENCLAVE_OIDC_CORP_CLIENT_ID": "enclave"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_configuration_table_documents_every_variable_the_settings_read():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_<>]*)`", readme, flags=re.M))
    missing = sorted(read_by_settings() - documented)
    assert not missing, f"README configuration table lacks: {missing}"


@pytest.mark.django_db
def test_ensure_schedules_registers_every_periodic_task_once():
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    call_command("ensure_schedules", stdout=open(os.devnull, "w"))  # noqa: SIM115
    call_command("ensure_schedules", stdout=open(os.devnull, "w"))  # noqa: SIM115

    tasks = dict(PeriodicTask.objects.values_list("task", "interval__every"))
    assert tasks == {
        "audit.verify_chain": 60,
        "audit.checkpoint": 1,
        "workspaces.reconcile": 5,
        "workspaces.sweep": 1,
        "approvals.expire_grants": 1,
        "approvals.follow_up_requests": 15,
        "approvals.run_access_reviews": 5,
    }
    assert PeriodicTask.objects.count() == 7
