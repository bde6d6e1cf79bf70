"""Helpers for audit tests: rewrite history the way an attacker with database access would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _no_mfa_gate(settings: Any) -> None:
    settings.ENCLAVE_MFA_REQUIRED_ROLES = []  # MFA enforcement has its own tests; here: roles and the trail


def using_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def tamper() -> Callable[[str, list[Any]], None]:
    """Run raw SQL against the audit table as a superuser who first switches off the
    append-only trigger (PostgreSQL), then switches it back on."""

    def run(sql: str, params: list[Any]) -> None:
        with connection.cursor() as cursor:
            if using_postgres():
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the pending deferred FK checks first
                cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
            cursor.execute(sql, params)
            if using_postgres():
                cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")

    return run
