"""OpenID Connect on top of allauth: a ``nonce`` in every authorization request, the stable
subject claim of each provider as the account uid, discovery documents and JWKS cached in
the Django cache, and ID-token signatures verified against the JWKS even when the token came
straight from the token endpoint (allauth skips that check; we do not rely on TLS alone)."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

import jwt
from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse

from portal.identity.config import provider_config, social_apps

logger = logging.getLogger(__name__)
BASE_SCOPES = ("openid", "profile", "email")
# Page rendering may read discovery for CSP: never wait long on an unreachable IdP for it.
CSP_DISCOVERY_TIMEOUT = 2.0
# Asymmetric algorithms only: "none" and HMAC (keyed with the public client secret) are refused.
ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})


def _requests_session() -> Any:
    from allauth.socialaccount.adapter import get_adapter

    return get_adapter().get_requests_session()


def _cache_key(kind: str, url: str) -> str:
    return f"enclave:oidc:{kind}:{hashlib.sha256(url.encode()).hexdigest()[:32]}"


def fetch_json_cached(kind: str, url: str, *, refresh: bool = False, timeout: float | None = None) -> dict[str, Any]:
    """GET ``url`` as JSON through the Django cache (``ENCLAVE_OIDC_METADATA_CACHE_SECONDS``),
    so discovery and JWKS cost one fetch per lifetime, not one per sign-in."""
    key = _cache_key(kind, url)
    if not refresh:
        cached = cache.get(key)
        if cached is not None:
            return dict(json.loads(cached))
    with _requests_session() as session:
        response = session.get(url, **({"timeout": timeout} if timeout else {}))
        response.raise_for_status()
        data = response.json()
    cache.set(key, json.dumps(data), settings.ENCLAVE_OIDC_METADATA_CACHE_SECONDS)
    return dict(data)


def discovery_url(server_url: str) -> str:
    return server_url if "/.well-known/" in server_url else server_url.rstrip("/") + "/.well-known/openid-configuration"


def discovery(app_settings: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
    config = fetch_json_cached("discovery", discovery_url(str(app_settings["server_url"])), timeout=timeout)
    config.update(app_settings.get("openid_configuration_overrides", {}))
    return config


def _signing_key(keys: dict[str, Any], kid: str | None) -> Any:
    if kid is None:
        candidates = [k for k in keys.get("keys", []) if k.get("use", "sig") == "sig"]
        if len(candidates) != 1:
            return None
        kid = candidates[0].get("kid")
        keys = {"keys": [{**candidates[0], "kid": kid}]}
    return jwtkit.lookup_kid_jwk({"keys": [k for k in keys.get("keys", []) if "kid" in k]}, kid)


def verify_id_token(token: str, *, openid_config: dict[str, Any], client_id: str) -> dict[str, Any]:
    """Verify the ID token's signature against the provider's JWKS (re-fetched once when the
    key id is unknown, for key rotation), its issuer, audience and expiry; refuse replays."""
    try:
        header = jwt.get_unverified_header(token)
        alg = str(header.get("alg", ""))
        if alg not in ALLOWED_ALGORITHMS:
            raise OAuth2Error(f"ID token signed with a refused algorithm: {alg!r}")
        jwks_url = str(openid_config["jwks_uri"])
        key = _signing_key(fetch_json_cached("jwks", jwks_url), header.get("kid"))
        if key is None:
            key = _signing_key(fetch_json_cached("jwks", jwks_url, refresh=True), header.get("kid"))
        if key is None:
            raise OAuth2Error(f"ID token signed with an unknown key: {header.get('kid')!r}")
        data: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=[alg],
            issuer=openid_config["issuer"],
            audience=client_id,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.PyJWTError as e:
        raise OAuth2Error(f"Invalid id_token: {e}") from e
    jwtkit.verify_jti(data)
    return data


class EnclaveOIDCAdapter(OpenIDConnectOAuth2Adapter):
    """allauth's OIDC adapter with cached discovery and a verified ID-token signature."""

    @property
    def openid_config(self) -> dict[str, Any]:
        if not hasattr(self, "_openid_config"):
            self._openid_config = discovery(self.get_provider().app.settings)
        return self._openid_config

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict[str, Any]:
        return verify_id_token(id_token, openid_config=self.openid_config, client_id=app.client_id)

    def complete_login(self, request: HttpRequest, app: SocialApp, token: Any, **kwargs: Any) -> Any:
        """OIDC Core 5.3.2: userinfo whose ``sub`` is not the ID token's must not be used (its
        groups and ``oid`` would otherwise be merged over the verified token's)."""
        login = super().complete_login(request, app, token, **kwargs)
        data = login.account.extra_data or {}
        id_sub, userinfo = (data.get("id_token") or {}).get("sub"), data.get("userinfo")
        if userinfo is not None and id_sub is not None and str(userinfo.get("sub")) != str(id_sub):
            raise OAuth2Error("the userinfo response is about another subject than the ID token")
        return login


class EnclaveOIDCProvider(OpenIDConnectProvider):
    """allauth's OpenID Connect provider, plus:

    - a fresh ``nonce`` in the authorization request, stashed with the login state
      (server-side) and compared with the ID token by the social account adapter;
    - the provider's configured scopes (``ENCLAVE_OIDC_<ID>_SCOPES`` on top of
      ``openid profile email``);
    - the configured stable subject claim as the account uid, read from the ID token first
      (Entra's ``oid`` is not in its userinfo response).
    """

    oauth2_adapter_class = EnclaveOIDCAdapter

    def get_redirect_from_request_kwargs(self, request: HttpRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_redirect_from_request_kwargs(request)
        nonce = secrets.token_urlsafe(24)
        kwargs["auth_params"] = {**kwargs.get("auth_params", {}), "nonce": nonce}
        kwargs["nonce"] = nonce  # stashed with the state, server-side
        return kwargs

    def get_default_scope(self) -> list[str]:
        return list(BASE_SCOPES)

    def get_scope(self) -> list[str]:
        scopes = list(dict.fromkeys([*BASE_SCOPES, *(self.app.settings.get("scope") or [])]))
        return scopes

    def extract_uid(self, data: dict[str, Any]) -> str:
        claim = provider_config(self.app.provider_id).subject_claim
        for part in ("id_token", "userinfo"):
            value = (data.get(part) or {}).get(claim)
            if value not in (None, ""):
                return str(value)
        raise OAuth2Error(f"the identity provider did not send the subject claim {claim!r}")

    def get_oauth2_adapter(self, request: HttpRequest) -> EnclaveOIDCAdapter:
        return EnclaveOIDCAdapter(request, self.app.provider_id)


def authorization_origins() -> list[str]:
    """Origins of the configured providers' authorization endpoints (from cached discovery;
    the issuer's origin while discovery cannot be read), and SAML SSO URLs: the places the
    login page's SSO buttons send the browser to, which CSP ``form-action`` must allow."""
    origins: list[str] = []
    for app in social_apps("openid_connect"):
        app_settings = dict(app.get("settings") or {})
        url = str(app_settings.get("server_url") or "")
        try:
            url = str(discovery(app_settings, timeout=CSP_DISCOVERY_TIMEOUT).get("authorization_endpoint") or url)
        except Exception as e:  # an unreachable IdP must not break every page
            logger.warning("sso.discovery_unreachable", extra={"server_url": url, "error": str(e)[:200]})
        origins.append(url)
    for app in social_apps("saml"):
        idp = dict((app.get("settings") or {}).get("idp") or {})
        origins.append(str(idp.get("sso_url") or idp.get("metadata_url") or ""))
    out = []
    for url in origins:
        parts = urlsplit(url)
        if parts.scheme in ("https", "http") and parts.netloc:
            out.append(f"{parts.scheme}://{parts.netloc}")
    return sorted(set(out))


@login_not_required
def login(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        return OAuth2LoginView.adapter_view(EnclaveOIDCAdapter(request, provider_id))(request)  # type: ignore[no-any-return]
    except SocialApp.DoesNotExist as e:
        raise Http404 from e


@login_not_required
def callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        return OAuth2CallbackView.adapter_view(EnclaveOIDCAdapter(request, provider_id))(request)  # type: ignore[no-any-return]
    except SocialApp.DoesNotExist as e:
        raise Http404 from e
