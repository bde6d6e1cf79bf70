"""In a real browser, through the third-party OP (pyop) over TLS: the SSO button's POST
redirects to the IdP and the browser follows it, because ``form-action`` is derived from the
configured providers — no CSP_FORM_ACTION_EXTRA is set."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from audit.models import AuditEvent
from devtools.pyop_op import OPHandle
from tests.fixtures.third_party_op import callback_path

pytestmark = [pytest.mark.browser, pytest.mark.sso, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tls_page(playwright_browser: Any) -> Iterator[Any]:
    """A page that accepts the OP's self-signed loopback certificate (the portal trusts it
    through ENCLAVE_SSO_CA_BUNDLE; the browser has no such setting)."""
    context = playwright_browser.new_context(viewport={"width": 1280, "height": 900}, ignore_https_errors=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def live_op(live_server: Any, start_third_party_op: Any, settings: Any) -> OPHandle:
    op: OPHandle = start_third_party_op("okta", EXTRA_REDIRECT_URIS=f"{live_server.url}{callback_path('okta')}")
    form_action = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"]
    assert not any(str(src).startswith("https://127.0.0.1") for src in form_action)  # nothing set by hand
    return op


def test_a_user_signs_in_through_the_third_party_op_in_a_browser(tls_page, live_server, live_op):
    page = tls_page
    page.goto(f"{live_server.url}/accounts/login/")
    csp = page.evaluate("() => fetch(location.href).then(r => r.headers.get('content-security-policy'))")
    assert live_op.issuer in csp

    page.get_by_test_id("sso-okta").click()
    page.get_by_test_id("op-user-sam").click()
    page.wait_for_load_state("networkidle")

    assert page.url == f"{live_server.url}/"
    assert page.get_by_test_id("current-user").inner_text() == "Sam Okta"
    assert AuditEvent.objects.filter(action="auth.login", actor__username="sam.okta").exists()
