"""HTTP transport around a ``pyop.provider.Provider`` (see the package docstring)."""

from __future__ import annotations

import html
import json
import ssl
import tempfile
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from Cryptodome.PublicKey import RSA
from jwkest.jwk import RSAKey
from pyop.authz_state import AuthorizationState
from pyop.exceptions import BearerTokenError, InvalidAuthenticationRequest, InvalidClientAuthentication, OAuthError
from pyop.provider import Provider
from pyop.subject_identifier import HashBasedSubjectIdentifierFactory
from pyop.userinfo import Userinfo

from devtools.fake_arm.certs import write_self_signed

# Claims released only when the client asks for the scope, like Okta's ``groups`` scope and
# Keycloak's ``roles`` scope (standard scopes are pyop's own).
EXTRA_SCOPES: dict[str, list[str]] = {"groups": ["groups"], "roles": ["realm_access"]}


@dataclass
class OPUser:
    """``userinfo``: claims released per scope (userinfo endpoint); ``id_token``: claims the OP
    always puts in the ID token (``amr``, ``acr``, Entra's ``oid``/``tid``/``groups``...)."""

    userinfo: dict[str, Any]
    id_token: dict[str, Any] = field(default_factory=dict)


@dataclass
class OPHandle:
    issuer: str
    ca_path: str
    server: ThreadingHTTPServer
    provider: Provider
    users: dict[str, OPUser]
    hits: Counter[str] = field(default_factory=Counter)  # requests per path, to prove caching
    published_jwks: dict[str, Any] | None = None  # serve this instead of the signing key (a forgery test)

    def set_user(self, user_id: str, user: OPUser) -> None:
        self.users[user_id] = user

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Userinfo(Userinfo):  # type: ignore[misc]
    def __init__(self, users: Mapping[str, OPUser]) -> None:
        self._users = users

    def __getitem__(self, item: str) -> dict[str, Any]:
        return self._users[item].userinfo

    def __contains__(self, item: object) -> bool:
        return item in self._users

    def get_claims_for(self, user_id: str | None, requested_claims: Any, userinfo: Any = None) -> dict[str, Any]:
        info = userinfo or (self._users[user_id].userinfo if user_id else {})
        return {claim: info[claim] for claim in requested_claims if claim in info}


def _handler(handle_ref: dict[str, OPHandle]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        @property
        def op(self) -> OPHandle:
            return handle_ref["handle"]

        def _send(self, status: int, body: str | bytes, content_type: str, headers: Mapping[str, str] = {}) -> None:
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _json(self, status: int, payload: Any) -> None:
            self._send(status, json.dumps(payload), "application/json")

        def _body(self) -> str:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            self.op.hits[parts.path] += 1
            if parts.path == "/.well-known/openid-configuration":
                self._json(200, self.op.provider.provider_configuration.to_dict())
            elif parts.path == "/jwks":
                self._json(200, self.op.published_jwks or self.op.provider.jwks)
            elif parts.path == "/authorize":
                self._picker(parts.query)
            elif parts.path == "/userinfo":
                self._userinfo(parts.query)
            else:
                self._send(404, "not found", "text/plain")

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            self.op.hits[path] += 1
            body = self._body()
            if path == "/authorize":
                self._authorize(dict(parse_qsl(body)))
            elif path == "/token":
                try:
                    response = self.op.provider.handle_token_request(
                        body, dict(self.headers), extra_id_token_claims=self._extra_claims
                    )
                except OAuthError as e:
                    status = 401 if isinstance(e, InvalidClientAuthentication) else 400
                    self._json(status, {"error": e.oauth_error, "error_description": str(e)})
                    return
                self._send(200, response.to_json(), "application/json")
            elif path == "/userinfo":
                self._userinfo(body)
            else:
                self._send(404, "not found", "text/plain")

        def do_PUT(self) -> None:
            path = urlsplit(self.path).path
            if not path.startswith("/_control/users/"):
                self._send(404, "not found", "text/plain")
                return
            payload = json.loads(self._body())
            self.op.set_user(path.rsplit("/", 1)[1], OPUser(payload["userinfo"], payload.get("id_token") or {}))
            self._send(204, b"", "text/plain")

        def _extra_claims(self, user_id: str, client_id: str) -> dict[str, Any]:
            return dict(self.op.users[user_id].id_token)

        def _picker(self, query: str) -> None:
            try:
                self.op.provider.parse_authentication_request(query)
            except InvalidAuthenticationRequest as e:
                self._send(400, f"invalid authentication request: {html.escape(str(e))}", "text/plain")
                return
            buttons = "".join(
                f'<button type="submit" name="user_id" value="{html.escape(uid)}" '
                f'data-testid="op-user-{html.escape(uid)}">{html.escape(uid)}</button>'
                for uid in sorted(self.op.users)
            )
            page = (
                "<!doctype html><title>pyop sign-in</title><h1>Sign in (pyop)</h1>"
                f'<form method="post" action="/authorize"><input type="hidden" name="request" '
                f'value="{html.escape(query)}">{buttons}</form>'
            )
            self._send(200, page, "text/html; charset=utf-8")

        def _authorize(self, form: dict[str, str]) -> None:
            try:
                request = self.op.provider.parse_authentication_request(form.get("request", ""))
            except InvalidAuthenticationRequest as e:
                self._send(400, f"invalid authentication request: {html.escape(str(e))}", "text/plain")
                return
            user_id = form.get("user_id", "")
            if user_id not in self.op.users:
                self._send(400, "unknown user", "text/plain")
                return
            response = self.op.provider.authorize(request, user_id)
            location = response.request(request["redirect_uri"])
            self._send(302, b"", "text/plain", {"Location": location})

        def _userinfo(self, request: str) -> None:
            try:
                response = self.op.provider.handle_userinfo_request(request, dict(self.headers))
            except (OAuthError, BearerTokenError) as e:
                self._json(401, {"error": getattr(e, "oauth_error", "invalid_token"), "error_description": str(e)})
                return
            self._send(200, response.to_json(), "application/json")

    return Handler


def start_op(
    *,
    users: Mapping[str, OPUser],
    client_id: str,
    client_secret: str,
    redirect_uris: list[str],
    port: int = 0,
    cert_dir: str | Path | None = None,
) -> OPHandle:
    """Start pyop on https://127.0.0.1:<port> in a background thread (its own TLS identity,
    returned as ``ca_path`` for the relying party to trust)."""
    cert_path, key_path = write_self_signed(cert_dir or tempfile.mkdtemp(prefix="pyop-op-"))
    ref: dict[str, OPHandle] = {}
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(ref))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_path), str(key_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    issuer = f"https://127.0.0.1:{server.server_address[1]}"
    user_db = dict(users)
    provider = Provider(
        RSAKey(key=RSA.generate(2048), alg="RS256", kid="pyop-1"),
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
        },
        AuthorizationState(HashBasedSubjectIdentifierFactory("pyop-interop")),
        {
            client_id: {
                "client_secret": client_secret,
                "redirect_uris": list(redirect_uris),
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            }
        },
        _Userinfo(user_db),
        extra_scopes=EXTRA_SCOPES,
    )
    handle = OPHandle(issuer=issuer, ca_path=str(cert_path), server=server, provider=provider, users=user_db)
    ref["handle"] = handle
    threading.Thread(target=server.serve_forever, name="pyop-op", daemon=True).start()
    return handle
