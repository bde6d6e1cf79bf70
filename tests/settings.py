"""Test entry point: the one settings module under the ``test`` profile."""

import os

os.environ.setdefault("ENCLAVE_ENV", "test")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import uuid

from portal.settings import *  # noqa: F403

# A queue of this test session's own, so parallel runs on one Redis never steal each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = os.environ.setdefault("CELERY_QUEUE", f"enclave-test-{uuid.uuid4().hex[:10]}")
