"""In a real browser: sign in through the demo IdP and land on the right dashboard; an
approver without MFA is held at TOTP setup until it is done."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import NoReverseMatch, reverse

from audit.models import AuditEvent
from devtools.oidc_idp import Client, IdPHandle, load_users, start_idp
from tests.fixtures.oidc import CALLBACK_PATH, CLIENT_ID, CLIENT_SECRET, DEMO_IDENTITY_SETTINGS, provider_settings

pytestmark = [pytest.mark.browser, pytest.mark.sso, pytest.mark.django_db(transaction=True)]

MFA_SETUP = "/accounts/2fa/totp/activate/"


@pytest.fixture
def live_idp(live_server: Any, settings: Any) -> Iterator[IdPHandle]:
    handle = start_idp(
        port=0, users=load_users(), clients=[Client(CLIENT_ID, CLIENT_SECRET, {f"{live_server.url}{CALLBACK_PATH}"})]
    )
    settings.SOCIALACCOUNT_PROVIDERS = provider_settings(handle.issuer)
    settings.ENCLAVE_SSO_PROVIDERS = DEMO_IDENTITY_SETTINGS
    settings.ENCLAVE_ENTRA_PROVIDER = "demo"
    # No form-action by hand: portal.identity.csp allows the IdP's authorization endpoint.
    try:
        yield handle
    finally:
        handle.stop()


def _sign_in(page: Any, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_test_id("sso-demo").click()
    page.get_by_test_id(f"idp-user-{username}").click()
    page.wait_for_load_state("networkidle")


def test_a_scientist_signs_in_through_the_idp_and_lands_on_their_dashboard(page, live_server, live_idp, screenshot):
    page.goto(f"{live_server.url}/accounts/login/")
    screenshot("sso-login-page")

    _sign_in(page, live_server, "sam.scientist")

    assert page.url == f"{live_server.url}/"
    assert page.get_by_test_id("current-user").inner_text() == "Sam Scientist"
    assert "Data scientist" in page.get_by_test_id("dashboard-roles").inner_text()
    screenshot("sso-scientist-dashboard")
    assert AuditEvent.objects.filter(action="auth.login", actor__username="sam.scientist").exists()


def test_an_approver_without_mfa_is_sent_to_totp_setup_before_anything_else(
    page, live_server, live_idp, screenshot
):  # fmt: skip
    live_idp.idp.set_amr("alex.approver", ["pwd"])  # the demo IdP asserts MFA for alex; here it does not
    _sign_in(page, live_server, "alex.approver")

    assert page.url == f"{live_server.url}{MFA_SETUP}"
    screenshot("sso-approver-mfa-setup")
    approver_urls = ["/"]
    with contextlib.suppress(NoReverseMatch):
        approver_urls.append(reverse("approvals:inbox"))
    for url in approver_urls:
        page.goto(f"{live_server.url}{url}")
        assert page.url == f"{live_server.url}{MFA_SETUP}", url
    assert page.locator("img[alt]").count() >= 1  # the QR code
    assert AuditEvent.objects.filter(action="auth.mfa_required", actor__username="alex.approver").count() == 1


def test_the_no_group_user_sees_the_no_access_page(page, live_server, live_idp, screenshot):
    _sign_in(page, live_server, "nora.nogroup")

    assert page.get_by_test_id("no-access").is_visible()
    screenshot("sso-no-access")


def test_a_user_creates_and_revokes_an_api_token_on_the_profile_page(
    page, live_server, login_as, scientist, screenshot
):
    login_as(scientist)
    page.goto(f"{live_server.url}/profile/")
    form = page.get_by_test_id("token-form")
    form.get_by_label("Name").fill("CI pipeline")
    form.get_by_label("Lifetime (days)").fill("7")
    form.get_by_role("button", name="Create token").click()

    secret = page.get_by_test_id("token-secret").inner_text()
    assert secret.startswith("enc_")
    screenshot("profile-token-created")

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_load_state("networkidle")
    assert "revoked" in page.get_by_test_id("token-table").inner_text()
    assert secret not in page.content()
    screenshot("profile-token-revoked")
