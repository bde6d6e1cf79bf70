"""A small but real OpenID Connect provider for the demo and the SSO tests (loopback only).

Authorization-code flow with PKCE (S256 required), one-time codes, client_secret_basic
and client_secret_post, RS256-signed ID tokens carrying the request's ``nonce``, a JWKS,
a discovery document and a userinfo endpoint. The "login page" is a one-click picker of
the demo users — there are no real credentials here, which is why this lives in
``devtools/`` and binds to 127.0.0.1.

Tests drive it through the Python API of :class:`OIDCProvider` (change a user's groups or
``amr``, tamper with the nonce of the next ID token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

DEFAULT_CLIENT_ID = "enclave-demo"
DEFAULT_CLIENT_SECRET = "enclave-demo-secret"
DEMO_USERS_FILE = Path(__file__).with_name("demo_users.json")
CODE_TTL_SECONDS = 60
TOKEN_TTL_SECONDS = 300


@dataclass
class DemoUser:
    username: str
    name: str
    email: str
    groups: list[str] = field(default_factory=list)
    oid: str = ""
    amr: list[str] = field(default_factory=lambda: ["pwd"])
    acr: str = ""

    @property
    def sub(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"enclave-demo-idp:{self.username}"))

    def claims(self) -> dict[str, Any]:
        return {
            "sub": self.sub,
            "preferred_username": self.username,
            "name": self.name,
            "email": self.email,
            "email_verified": True,
            "groups": list(self.groups),
            "oid": self.oid,
        }


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: set[str] = field(default_factory=set)


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    username: str
    nonce: str | None
    code_challenge: str
    expires: float


def load_users(path: str | Path = DEMO_USERS_FILE) -> list[DemoUser]:
    data = json.loads(Path(path).read_text())
    return [DemoUser(**u) for u in data["users"]]


def _b64url_sha256(value: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(value.encode("ascii")).digest()).rstrip(b"=").decode()


class OIDCProvider:
    """The IdP's state and protocol logic; :func:`start_idp` serves it over HTTP."""

    def __init__(self, users: list[DemoUser], clients: list[Client], issuer: str = "") -> None:
        self.users = {u.username: u for u in users}
        self.clients = {c.client_id: c for c in clients}
        self.issuer = issuer
        self.key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"})
        self._grants: dict[str, _Grant] = {}
        self._access_tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        # Test hooks
        self.tamper_next_nonce = False
        self.log: list[str] = []

    # --- test/admin API -----------------------------------------------------------
    def set_groups(self, username: str, groups: list[str]) -> None:
        self.users[username].groups = list(groups)

    def set_amr(self, username: str, amr: list[str]) -> None:
        self.users[username].amr = list(amr)

    def add_user(self, user: DemoUser) -> None:
        self.users[user.username] = user

    # --- documents ------------------------------------------------------------------
    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "preferred_username", "name", "email", "groups", "oid", "amr", "acr", "nonce"],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    # --- authorization endpoint -------------------------------------------------------
    def check_authorization_request(self, params: dict[str, str]) -> str | None:
        """The reason the request is refused, or None. Errors here are shown, never redirected
        (an unknown client or redirect URI must not become an open redirect)."""
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            return "unknown client_id"
        if params.get("redirect_uri") not in client.redirect_uris:
            return "redirect_uri is not registered for this client"
        if params.get("response_type") != "code":
            return "only response_type=code is supported"
        if "openid" not in params.get("scope", "").split():
            return "scope must include openid"
        if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
            return "PKCE with code_challenge_method=S256 is required"
        return None

    def authorize(self, params: dict[str, str], username: str) -> str:
        """Issue a one-time code for ``username`` and return the redirect back to the client."""
        if username not in self.users:
            raise KeyError(username)
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = _Grant(
                client_id=params["client_id"],
                redirect_uri=params["redirect_uri"],
                username=username,
                nonce=params.get("nonce"),
                code_challenge=params["code_challenge"],
                expires=time.time() + CODE_TTL_SECONDS,
            )
        query = {"code": code}
        if params.get("state"):
            query["state"] = params["state"]
        self.log.append(f"authorize {username}")
        return f"{params['redirect_uri']}?{urlencode(query)}"

    # --- token endpoint -------------------------------------------------------------------
    def _client_from(self, headers: Any, form: dict[str, str]) -> Client | None:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        auth = headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                decoded = base64.b64decode(auth[6:]).decode()
            except ValueError:
                return None
            from urllib.parse import unquote

            raw_id, _, raw_secret = decoded.partition(":")
            client_id, secret = unquote(raw_id), unquote(raw_secret)
        client = self.clients.get(client_id)
        if client is None or not hmac.compare_digest(client.client_secret, secret):
            return None
        return client

    def token(self, headers: Any, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        client = self._client_from(headers, form)
        if client is None:
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)  # one-time: gone even if the rest fails
        if grant is None or grant.expires < time.time() or grant.client_id != client.client_id:
            return 400, {"error": "invalid_grant", "error_description": "unknown, used or expired code"}
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"}
        verifier = form.get("code_verifier", "")
        if not verifier or not hmac.compare_digest(_b64url_sha256(verifier), grant.code_challenge):
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        user = self.users[grant.username]
        now = int(time.time())
        claims: dict[str, Any] = {
            **user.claims(),
            "iss": self.issuer,
            "aud": client.client_id,
            "iat": now,
            "exp": now + TOKEN_TTL_SECONDS,
            "auth_time": now,
            "jti": secrets.token_hex(12),
            "amr": list(user.amr),
        }
        if user.acr:
            claims["acr"] = user.acr
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        if self.tamper_next_nonce:
            self.tamper_next_nonce = False
            claims["nonce"] = "tampered-" + secrets.token_hex(8)
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._access_tokens[access_token] = (user.username, time.time() + TOKEN_TTL_SECONDS)
        self.log.append(f"token {user.username}")
        return 200, {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL_SECONDS,
            "id_token": id_token,
            "scope": "openid profile email",
        }

    def userinfo(self, headers: Any) -> tuple[int, dict[str, Any]]:
        auth = headers.get("Authorization", "")
        entry = self._access_tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if entry is None or entry[1] < time.time():
            return 401, {"error": "invalid_token"}
        return 200, self.users[entry[0]].claims()

    # --- the picker page ------------------------------------------------------------------
    def login_page(self, params: dict[str, str]) -> str:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items()
        )
        rows = "".join(
            f'<li><form method="post" action="/authorize">{hidden}'
            f'<button type="submit" name="username" value="{html.escape(u.username)}" '
            f'data-testid="idp-user-{html.escape(u.username)}">{html.escape(u.username)}</button>'
            f" <span>{html.escape(u.name)} · {html.escape(', '.join(u.groups) or 'no groups')}</span></form></li>"
            for u in self.users.values()
        )
        return (
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>Demo IdP · sign in</title>"
            "<style>body{font:16px system-ui;margin:3rem auto;max-width:40rem}li{margin:.6rem 0;list-style:none}"
            "button{font:inherit;padding:.3rem .8rem;min-width:12rem}span{color:#555}</style></head><body>"
            "<h1>Demo identity provider</h1><p>Loopback demo IdP: choose who you are. "
            "No real credentials exist here.</p>"
            f"<ul>{rows}</ul></body></html>"
        )


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: dict[str, Any]) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _html(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/html; charset=utf-8")

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

    def do_GET(self) -> None:
        idp = self.server.idp
        url = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path == "/.well-known/openid-configuration":
            self._json(200, idp.discovery())
        elif url.path == "/jwks":
            self._json(200, idp.jwks())
        elif url.path == "/authorize":
            problem = idp.check_authorization_request(params)
            if problem:
                self._html(400, f"<h1>Bad authorization request</h1><p>{html.escape(problem)}</p>")
            else:
                self._html(200, idp.login_page(params))
        elif url.path == "/userinfo":
            self._json(*idp.userinfo(self.headers))
        else:
            self._json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        idp = self.server.idp
        url = urlsplit(self.path)
        form = self._form()
        if url.path == "/authorize":
            username = form.pop("username", "")
            problem = idp.check_authorization_request(form)
            if problem or username not in idp.users:
                self._html(400, f"<h1>Bad authorization request</h1><p>{html.escape(problem or 'unknown user')}</p>")
                return
            self._send(302, b"", "text/plain", {"Location": idp.authorize(form, username)})
        elif url.path == "/token":
            self._json(*idp.token(self.headers, form))
        elif url.path == "/userinfo":
            self._json(*idp.userinfo(self.headers))
        else:
            self._json(404, {"error": "not_found"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    idp: OIDCProvider
    verbose: bool = False


@dataclass
class IdPHandle:
    idp: OIDCProvider
    server: _Server
    thread: threading.Thread

    @property
    def issuer(self) -> str:
        return self.idp.issuer

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_idp(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    users: list[DemoUser] | None = None,
    clients: list[Client] | None = None,
    verbose: bool = False,
) -> IdPHandle:
    """Serve an IdP in a background thread; ``port=0`` picks a free port (tests)."""
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError("the demo IdP has no real credentials and only binds to loopback")
    idp = OIDCProvider(users if users is not None else load_users(), clients or [])
    server = _Server((host, port), _Handler)
    server.idp = idp
    server.verbose = verbose
    idp.issuer = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="demo-oidc-idp", daemon=True)
    thread.start()
    return IdPHandle(idp=idp, server=server, thread=thread)
