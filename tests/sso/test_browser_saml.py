"""In a real browser, through the SAML IdP stand-in (pysaml2): the "Sign in with" button's POST
redirects to the IdP's login page (``form-action`` allows it, derived from configuration), the
person is picked there, the IdP's page posts the signed Response to the ACS, and the portal
signs them in. A Response altered on the way is refused with allauth's failure page and audited.
The other refused assertions (unsigned, expired, wrong audience, replayed, unsolicited) are
posted to the ACS by tests/sso/test_saml_login.py."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest

from audit.models import AuditEvent
from core.roles import Role, roles_of
from devtools.saml_idp import SAMLIdPHandle
from tests.fixtures.saml import tamper_groups

pytestmark = [pytest.mark.browser, pytest.mark.sso, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_saml(live_server: Any, start_saml: Any) -> SAMLIdPHandle:
    handle: SAMLIdPHandle = start_saml(base=live_server.url)
    return handle


@pytest.fixture
def phone_page(playwright_browser: Any) -> Iterator[Any]:
    context = playwright_browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _sign_in(page: Any, live_server: Any, username: str, shot: Any = None) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    if shot:
        shot("saml-login-page")
    page.get_by_test_id("sso-saml").click()
    page.get_by_test_id(f"saml-user-{username}").wait_for()
    if shot:
        shot("saml-idp-login-page")
    page.get_by_test_id(f"saml-user-{username}").click()
    page.wait_for_load_state("networkidle")


def test_a_person_signs_in_through_the_saml_idp_in_a_browser(page, live_server, live_saml, screenshot):
    from django.contrib.auth import get_user_model

    _sign_in(page, live_server, "sara.saml", screenshot)

    assert page.url == f"{live_server.url}/"
    assert page.get_by_test_id("current-user").inner_text() == "Sara Saml"
    screenshot("saml-signed-in-desktop")
    user = get_user_model().objects.get(username="sara.saml")
    assert roles_of(user) == {Role.DATA_SCIENTIST}
    assert AuditEvent.objects.filter(action="auth.login", actor__username="sara.saml").exists()
    assert not AuditEvent.objects.filter(action="auth.sso_failed").exists()


def test_the_saml_sign_in_works_on_a_phone(phone_page, live_server, live_saml):
    from tests.fixtures.browser import SCREENSHOTS

    def shot(name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        phone_page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)

    _sign_in(phone_page, live_server, "aiko.saml", shot)

    assert phone_page.url == f"{live_server.url}/"
    assert phone_page.get_by_test_id("current-user").inner_text() == "Aiko Saml"
    shot("saml-signed-in")


def test_a_person_in_no_mapped_group_sees_the_no_access_page(page, live_server, live_saml):
    _sign_in(page, live_server, "nils.saml")

    assert AuditEvent.objects.filter(action="auth.no_access").exists()
    assert page.url.startswith(f"{live_server.url}/accounts/saml/corp/acs/finish/")
    assert page.get_by_test_id("current-user").count() == 0


def test_a_response_altered_in_the_browser_is_refused_and_audited(page, live_server, live_saml, screenshot):
    def alter(route: Any) -> None:  # a man in the middle changes the group in the signed Response
        response = route.fetch()
        body = response.text()
        found = re.search(r'name="SAMLResponse" value="([^"]+)"', body)
        assert found, body
        original = html.unescape(found.group(1))
        altered = tamper_groups(original, "enclave-catalog-admins")
        route.fulfill(response=response, body=body.replace(html.escape(original), altered))

    page.route(f"{live_saml.base_url}/sso/login", alter)

    _sign_in(page, live_server, "sara.saml")

    assert "Third-Party Login Failure" in page.content()
    screenshot("saml-refused-tampered")
    details = AuditEvent.objects.get(action="auth.sso_failed").details
    assert details["saml_check"] == "signature_invalid"
    assert not AuditEvent.objects.filter(action="auth.login").exists()
