"""Shared test harness: service detection, per-test isolation and role users.

Fixtures for the cloud stand-ins, the Celery worker, the OIDC IdP and the browser
live in ``tests/fixtures/`` and are loaded as plugins below.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db.backends.signals import connection_created

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.aws",
    "tests.fixtures.azure",
    "tests.fixtures.celery_worker",
    "tests.fixtures.browser",
    "tests.fixtures.oidc",
]


def _allow_audit_truncate(sender: Any, connection: Any, **_: Any) -> None:
    """Let the test runner empty the audit table between transactional tests (see audit 0002)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET enclave.allow_audit_truncate = 'on'")


connection_created.connect(_allow_audit_truncate)


_AWS_FIXTURES = frozenset({"aws_stand_in", "clean_aws", "moto_network", "sagemaker_backend", "sagemaker_hardening"})


@pytest.fixture(autouse=True)
def _boundary_probe_sees_no_aws(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The session's AWS stand-in exports its endpoint to ``os.environ`` for every later test, so a
    catalog test that publishes a SageMaker template would otherwise have its boundary policy judged
    against whatever that stand-in holds, depending on test order. Tests that use the stand-in (and
    integration tests) keep the real probe; the rest get "cannot tell", as with no AWS at all. The
    publish check itself is tested with explicit backends in tests/catalog/test_publish_checks.py."""
    if _AWS_FIXTURES & set(request.fixturenames) or request.node.get_closest_marker("integration"):
        return
    from workspaces.backends.sagemaker import SageMakerBackend

    monkeypatch.setattr(SageMakerBackend, "boundary_policy_exists", lambda self, arn: None)


@pytest.fixture(autouse=True)
def _isolate_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def scientist(db: Any) -> Any:
    from tests.factories import UserFactory

    return UserFactory(username="sam.scientist", roles=["data_scientist"])


@pytest.fixture
def other_scientist(db: Any) -> Any:
    from tests.factories import UserFactory

    return UserFactory(username="olga.other", roles=["data_scientist"])


@pytest.fixture
def approver(db: Any) -> Any:
    from tests.factories import UserFactory

    return UserFactory(username="alex.approver", roles=["approver"])


@pytest.fixture
def catalog_admin(db: Any) -> Any:
    from tests.factories import UserFactory

    return UserFactory(username="cara.admin", roles=["catalog_admin"])


@pytest.fixture
def auditor(db: Any) -> Any:
    from tests.factories import UserFactory

    return UserFactory(username="aud.auditor", roles=["auditor"])


def pytest_report_header(config: Any) -> list[str]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return [
        f"enclave: database={db['ENGINE'].rsplit('.', 1)[-1]} test-db={db.get('TEST', {}).get('NAME') or 'in-memory'} "
        f"redis={'yes' if os.environ.get('REDIS_URL') else 'no'} "
        f"require-services={os.environ.get('ENCLAVE_REQUIRE_SERVICES', '0')}"
    ]
