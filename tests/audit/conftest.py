"""Helpers for audit tests: rewrite history the way an attacker with database access would."""

from __future__ import annotations

import json
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


@pytest.fixture
def signing_key() -> str:
    """A fresh Ed25519 signing key (base64 seed, as ENCLAVE_AUDIT_SIGNING_KEY takes it)."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode()


@pytest.fixture
def anchors(settings: Any, tmp_path: Any, signing_key: str) -> Any:
    """Anchoring on, into a write-once directory of this test's own; returns the directory sink."""
    from audit.anchoring.sinks import DirectorySink

    settings.ENCLAVE_AUDIT_ANCHOR_SINK = "directory"
    settings.ENCLAVE_AUDIT_ANCHOR_DIR = str(tmp_path / "anchors")
    settings.ENCLAVE_AUDIT_SIGNING_KEY = signing_key
    settings.ENCLAVE_AUDIT_SIGNING_KEY_FILE = ""
    return DirectorySink(tmp_path / "anchors")


@pytest.fixture
def consistent_rewrite() -> Callable[[int, dict[str, Any]], None]:
    """Rewrite event ``seq``'s details as a database superuser who knows the hashing: switch
    the append-only trigger off for the session (``session_replication_role = replica``, no
    ALTER TABLE), forge the row, then recompute every later hash with the project's own code
    so the chain links perfectly again."""
    from audit.hashing import chain_hash, event_payload
    from audit.models import AuditEvent

    def run(seq: int, details: dict[str, Any]) -> None:
        with connection.cursor() as cursor:
            if using_postgres():
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET LOCAL session_replication_role = replica")
            rows = list(AuditEvent.objects.filter(seq__gte=seq).order_by("seq"))
            prev_hash = rows[0].prev_hash
            for row in rows:
                if row.seq == seq:
                    row.details = details
                payload = event_payload(
                    seq=row.seq, at=row.at, actor_id=row.actor_id, actor_label=row.actor_label,
                    actor_roles=row.actor_roles, actor_ip=row.actor_ip, user_agent=row.user_agent, action=row.action,
                    target_type=row.target_type, target_id=row.target_id, target_display=row.target_display,
                    outcome=row.outcome, details=row.details, request_id=row.request_id,
                )  # fmt: skip
                digest = chain_hash(prev_hash, payload)
                cursor.execute(
                    "UPDATE audit_auditevent SET details = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                    [json.dumps(row.details), prev_hash, digest, row.seq],
                )
                prev_hash = digest
            if using_postgres():
                cursor.execute("SET LOCAL session_replication_role = origin")

    return run
