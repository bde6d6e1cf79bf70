"""Set-up shared by the workspace lifecycle tests: the in-memory backend and task queue, and a
self-service template to request from (defined in ``tests.workspaces.fakes``), available to every
test module here without each importing them."""

from __future__ import annotations

from tests.workspaces.fakes import (  # noqa: F401 - importing registers the fixtures for this directory
    fake_backend_fixture,
    request_kwargs_fixture,
    sm_template_fixture,
    task_queue_fixture,
)
