"""Deny by default, tested: every URL pattern of the project has an expected status for
anonymous users and for each role, and a new URL without an entry fails this test.

Objects in URLs belong to *another* user (``world`` fixture), so the matrix also proves
that object ownership is checked: a scientist reaching someone else's workspace gets 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver

from tests.security.matrix import EXPECTATIONS, THIRD_PARTY_PREFIXES, build_world

ROLES = ("anonymous", "data_scientist", "approver", "catalog_admin", "auditor")


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    converters: tuple[str, ...] = field(default_factory=tuple)


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            name = f"{namespace}{entry.name}" if entry.name else f"<unnamed {pattern}>"
            yield Route(name, pattern, tuple(entry.pattern.converters) if hasattr(entry.pattern, "converters") else ())


def project_routes() -> list[Route]:
    return [r for r in _walk(get_resolver()) if not r.pattern.startswith(THIRD_PARTY_PREFIXES)]


def test_every_project_url_has_an_authorization_entry():
    missing = sorted({r.name for r in project_routes()} - set(EXPECTATIONS))
    assert not missing, (
        f"URL patterns without an authorization-matrix entry (add them to tests/security/matrix.py): {missing}"
    )


def test_matrix_has_no_stale_entries():
    stale = sorted(set(EXPECTATIONS) - {r.name for r in project_routes()})
    assert not stale, f"matrix entries for URLs that no longer exist: {stale}"


@pytest.fixture
def world(db: Any) -> Any:
    return build_world()


@pytest.mark.parametrize("role", ROLES)
def test_every_url_answers_each_role_as_expected(role: str, world: Any, client: Any, settings: Any):
    settings.ENCLAVE_MFA_REQUIRED_ROLES = []  # MFA enforcement has its own tests; here: roles and ownership
    if role != "anonymous":
        client.force_login(world.users[role])
    failures = []
    for name, expectation in sorted(EXPECTATIONS.items()):
        url = expectation.url(world)
        with transaction.atomic():  # each probe sees the same world: what a POST changed is rolled back
            response = getattr(client, expectation.method.lower())(url, **expectation.extra)
            transaction.set_rollback(True)
        expected = expectation.status[role]
        if response.status_code != expected:
            failures.append(
                f"{expectation.method} {url} ({name}) as {role}: expected {expected}, got {response.status_code}"
            )
    assert not failures, "\n".join(failures)
