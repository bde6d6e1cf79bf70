"""In the browser: a catalog admin creates a template, is refused on publish for a baseline violation,
fixes it and publishes; a data scientist then finds it in the catalog."""

from __future__ import annotations

import re
from typing import Any

import pytest

from catalog.demo import seed_catalog
from catalog.models import TemplateVersion, VersionStatus
from tests.fixtures.mfa import assert_mfa_for_browser_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_publishes_a_fixed_template_and_a_scientist_finds_it_in_the_catalog(
    page: Any, live_server: Any, login_as: Any, screenshot: Any, catalog_admin: Any, scientist: Any
) -> None:
    seed_catalog(catalog_admin)
    login_as(catalog_admin)
    assert_mfa_for_browser_session(page)

    page.goto(f"{live_server.url}/catalog/manage/")
    page.get_by_test_id("new-template").click()
    page.get_by_test_id("new-aws_sagemaker").click()
    form = page.get_by_test_id("template-form")
    form.get_by_label("Name", exact=True).fill("Credit risk notebook")
    form.get_by_label("Slug (short name)").fill("credit-risk")
    form.get_by_label("Description").fill("A private notebook for credit-risk model development.")
    form.get_by_label("Internal").check()
    form.get_by_label("Confidential").check()
    page.get_by_test_id("spec-subnet_id").fill("subnet-0123456789abcdef0")
    page.get_by_test_id("spec-security_group_ids").fill("sg-0123456789abcdef0")
    page.get_by_test_id("spec-permissions_boundary_arn").fill("arn:aws:iam::123456789012:policy/enclave-boundary")
    page.get_by_test_id("spec-mandatory_tags").fill("environment=analytics\nbusiness-unit=credit-risk")
    # The KMS key is left empty: the schema accepts the draft, the baseline will refuse to publish it.
    page.get_by_test_id("save-draft").click()

    page.get_by_test_id("draft-violations").wait_for()
    page.get_by_test_id("publish-1").click()
    refused = page.get_by_test_id("publish-refused")
    refused.wait_for()
    assert "A customer-managed KMS key is required" in refused.inner_text()
    screenshot("catalog_publish_refused")
    assert TemplateVersion.objects.get(template__slug="credit-risk").status == VersionStatus.DRAFT

    page.get_by_test_id("fix-draft").click()
    page.get_by_test_id("baseline-violations").wait_for()
    screenshot("catalog_admin_edit")
    page.get_by_test_id("spec-kms_key_id").fill(
        "arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-4697-8879-6a5b4c3d2e1f"
    )
    page.get_by_test_id("save-draft").click()
    page.get_by_test_id("draft-compliant").wait_for()
    page.get_by_test_id("publish-1").click()
    page.wait_for_url(re.compile(r"/catalog/manage/templates/credit-risk/$"))
    assert "Published v1" in page.locator(".messages").inner_text()
    assert TemplateVersion.objects.get(template__slug="credit-risk").status == VersionStatus.PUBLISHED

    page.context.clear_cookies()
    login_as(scientist)
    page.goto(f"{live_server.url}/catalog/")
    card = page.get_by_test_id("template-card-credit-risk")
    card.wait_for()
    text = card.inner_text()
    assert "No direct internet access" in text
    assert "Encrypted with the bank's key …4c3d2e1f" in text
    assert card.get_by_test_id("request-credit-risk").is_visible()
    screenshot("catalog")


def test_catalog_admin_pages_render_for_an_admin(
    page: Any, live_server: Any, login_as: Any, screenshot: Any, catalog_admin: Any
) -> None:
    from catalog import services
    from tests.factories import sagemaker_spec

    seed_catalog(catalog_admin)
    template = TemplateVersion.objects.get(template__slug="standard-python-sagemaker").template
    services.save_draft(
        catalog_admin,
        template,
        spec=sagemaker_spec(idle_stop_minutes=30, volume_size_gb_max=100),
        changelog="Faster stop",
    )
    login_as(catalog_admin)
    assert_mfa_for_browser_session(page)

    for name, path, testid in [
        ("catalog_admin_list", "/catalog/manage/", "admin-templates"),
        ("catalog_admin_template", "/catalog/manage/templates/standard-python-sagemaker/", "versions"),
        ("catalog_admin_diff", "/catalog/manage/templates/standard-python-sagemaker/diff", "diff"),
        ("catalog_admin_baseline", "/catalog/manage/baseline", "baseline-form"),
        ("catalog_admin_prices", "/catalog/manage/prices", "prices"),
        ("catalog_admin_quotas", "/catalog/manage/quotas", "quotas"),
        ("catalog_admin_new_azure", "/catalog/manage/templates/new?provider=azure_ml", "template-form"),
    ]:
        page.goto(f"{live_server.url}{path}")
        page.get_by_test_id(testid).wait_for()
        screenshot(name)
