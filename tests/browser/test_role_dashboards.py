"""Every role signs in through the login page in a real browser and lands on its own
dashboard: the panels it needs, and none of another role's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PANELS = {"my-workspaces", "data-access", "approvals", "catalog-admin", "fleet", "datasets", "audit"}
EXPECTED = {
    "data_scientist": ({"my-workspaces", "data-access"}, "Data scientist"),
    "approver": ({"approvals"}, "Approver"),
    "catalog_admin": ({"catalog-admin", "fleet", "datasets", "audit"}, "Catalog admin"),
    "auditor": ({"fleet", "datasets", "audit"}, "Auditor"),
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_signs_in_and_sees_its_own_dashboard(role: str, page: Any, login_as: Any, settings: Any, screenshot):
    settings.ENCLAVE_MFA_REQUIRED_ROLES = []  # MFA enrolment has its own browser test (tests/sso)
    user = UserFactory(username=f"b.{role}", roles=[role])

    login_as(user)

    panels, label = EXPECTED[role]
    assert page.get_by_test_id("current-user").inner_text() == str(user)
    assert label in page.get_by_test_id("dashboard-roles").inner_text()
    for key in panels:
        assert page.get_by_test_id(f"panel-{key}").is_visible(), f"{role} should see the {key} panel"
    for key in PANELS - panels:
        assert page.get_by_test_id(f"panel-{key}").count() == 0, f"{role} must not see the {key} panel"
    screenshot(f"dashboard-{role}")
