"""CSP form-action follows the configured IdPs: the authorization endpoint from (cached)
discovery, the issuer while discovery is unreachable, SAML SSO URLs; the manual variable
still adds to it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache

from portal.identity.oidc import _cache_key, authorization_origins

pytestmark = pytest.mark.django_db


def _providers(*, oidc: list[dict[str, Any]] = (), saml: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {"openid_connect": {"APPS": list(oidc)}, "saml": {"APPS": list(saml)}}


def _oidc(provider_id: str, issuer: str) -> dict[str, Any]:
    return {"provider_id": provider_id, "name": provider_id, "client_id": "c", "secret": "s",
            "settings": {"server_url": issuer, "scope": ["openid"]}}  # fmt: skip


def test_the_authorization_endpoint_of_the_discovery_document_is_allowed(settings):
    issuer = "https://login.example.com/tenant/v2.0"
    settings.SOCIALACCOUNT_PROVIDERS = _providers(oidc=[_oidc("entra", issuer)])
    cache.set(
        _cache_key("discovery", issuer + "/.well-known/openid-configuration"),
        json.dumps({"issuer": issuer, "authorization_endpoint": "https://authorize.example.net/oauth2/v2.0/authorize"}),
    )

    assert authorization_origins() == ["https://authorize.example.net"]


def test_the_issuer_origin_is_allowed_while_discovery_is_unreachable(settings):
    settings.SOCIALACCOUNT_PROVIDERS = _providers(oidc=[_oidc("okta", "https://127.0.0.1:9/oauth2/default")])

    assert authorization_origins() == ["https://127.0.0.1:9"]


def test_saml_sso_urls_are_allowed(settings):
    app = {"provider_id": "saml", "client_id": "corp",
           "settings": {"idp": {"entity_id": "e", "sso_url": "https://idp.bank.example/saml/sso"}}}  # fmt: skip
    settings.SOCIALACCOUNT_PROVIDERS = _providers(saml=[app])

    assert authorization_origins() == ["https://idp.bank.example"]


def test_the_login_page_allows_the_providers_and_the_manual_extra(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = _providers(oidc=[_oidc("okta", "https://127.0.0.1:9/oauth2/default")])
    settings.CONTENT_SECURITY_POLICY = {
        **settings.CONTENT_SECURITY_POLICY,
        "DIRECTIVES": {
            **settings.CONTENT_SECURITY_POLICY["DIRECTIVES"],
            "form-action": ["'self'", "https://extra.bank.example"],
        },
    }

    csp = client.get("/accounts/login/")["Content-Security-Policy"]

    form_action = next(d for d in csp.split(";") if d.strip().startswith("form-action")).split()
    assert form_action[1:] == ["'self'", "https://extra.bank.example", "https://127.0.0.1:9"]
