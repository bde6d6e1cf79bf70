"""scim2-tester, a third-party SCIM conformance checker (python-scim), run against /scim/v2/."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import Status, check_server


@pytest.mark.django_db(transaction=True)
def test_scim2_tester_passes_every_applicable_check(scim_connection: tuple[Any, str]) -> None:
    _, token = scim_connection
    client = WSGISCIMClient(
        WSGIHandler(), base_url="http://testserver/scim/v2", headers={"Authorization": f"Bearer {token}"}
    )
    results = check_server(client)
    for r in results:
        print(r.status.name, r.title, r.resource_type or "", "-", r.reason or "")
    failed = [
        f"{r.title} [{r.resource_type}]: {r.reason}" for r in results if r.status in (Status.ERROR, Status.CRITICAL)
    ]
    assert not failed, "\n".join(failed)
    passed = {(r.title, r.resource_type) for r in results if r.status == Status.SUCCESS}
    for resource_type in ("User", "Group"):  # the CRUD and PATCH checks really ran for both resources
        for check in (
            "object_creation",
            "object_query",
            "object_replacement",
            "object_deletion",
            "check_add_attribute",
        ):
            assert (check, resource_type) in passed, (check, resource_type)
