"""Production fails closed: ``check --deploy`` passes with no warnings for a proper production
environment, and unsafe values (DEBUG, default secret, local login without the break-glass
policy) stop the process before it serves anything."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _production_env(**overrides: str) -> dict[str, str]:
    env = {
        "PATH": os.environ["PATH"],
        "ENCLAVE_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "enclave.bank.example",
        "DATABASE_URL": "postgres://enclave:x@127.0.0.1:5432/enclave",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "ENCLAVE_LOCAL_LOGIN": "false",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=110
    )


@pytest.mark.timeout(120)
def test_the_production_deploy_check_passes_with_no_warnings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)" in result.stdout


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"DEBUG": "true"}, "DEBUG must be off"),
        ({"SECRET_KEY": "enclave-insecure-development-key-do-not-use-in-production"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"ENCLAVE_LOCAL_LOGIN": "true"}, "break-glass"),
        ({"ENCLAVE_LOCAL_LOGIN": "true", "ENCLAVE_LOCAL_LOGIN_POLICY": "demo"}, "break-glass"),
    ],
    ids=["debug-on", "default-secret", "short-secret", "local-login-default-policy", "local-login-demo-policy"],
)
def test_production_refuses_to_start_with_unsafe_values(overrides, complaint):
    result = _manage("check", env=_production_env(**overrides))

    assert result.returncode != 0
    assert "Refusing to start in production" in result.stderr
    assert complaint in result.stderr


@pytest.mark.timeout(120)
def test_production_accepts_local_login_for_break_glass_admins_only():
    env = _production_env(ENCLAVE_LOCAL_LOGIN="true", ENCLAVE_LOCAL_LOGIN_POLICY="break-glass")

    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
