"""A SAML 2.0 identity provider for the demo and the tests: IdentityPython's ``pysaml2`` (from
PyPI, signing with the ``xmlsec1`` binary) behind a one-click user picker on loopback.

pysaml2 does the protocol — parsing and checking the AuthnRequest against the service
provider's metadata, building the Response and its Assertion (Issuer, Subject with a
persistent NameID and SubjectConfirmationData, Conditions with the Audience, the
AuthnStatement, the attributes) and signing the Assertion with RSA-SHA256. This module only
carries HTTP to and from it and shows who can sign in. It holds no real credentials and binds
to loopback only.

Its people assert the attribute names Microsoft Entra ID uses in SAML (object identifier, name,
e-mail, display name, groups), so the portal's defaults read them as they would Entra's.

``SAMLIdP.respond(...)`` is also the tests' way to obtain a genuine Response (signed, or
with ``sign_assertion=False`` unsigned) to alter into the assertions the portal must refuse.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

DEMO_USERS_FILE = Path(__file__).with_name("demo_users.json")
XMLSEC1 = "/usr/bin/xmlsec1"

# Entra ID's SAML attribute names (what the portal's ENCLAVE_SAML_<ID>_ATTR_* defaults read).
ATTR_OBJECT_ID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
ATTR_NAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
ATTR_EMAIL = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
ATTR_DISPLAY_NAME = "http://schemas.microsoft.com/identity/claims/displayname"
ATTR_GROUPS = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"


@dataclass
class SAMLUser:
    username: str
    name: str
    email: str
    uid: str  # the persistent NameID and object identifier: stable, never reassigned
    groups: list[str] = field(default_factory=list)

    def attributes(self) -> dict[str, list[str]]:
        return {
            ATTR_OBJECT_ID: [self.uid],
            ATTR_NAME: [self.username],
            ATTR_EMAIL: [self.email],
            ATTR_DISPLAY_NAME: [self.name],
            ATTR_GROUPS: list(self.groups),
        }


@dataclass(frozen=True)
class ServiceProvider:
    entity_id: str
    acs_urls: tuple[str, ...]

    def metadata(self) -> str:
        acs = "".join(
            f'<md:AssertionConsumerService Binding="{BINDING_HTTP_POST}" Location="{html.escape(url)}" index="{i}"/>'
            for i, url in enumerate(self.acs_urls, start=1)
        )
        return (
            '<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'entityID="{html.escape(self.entity_id)}"><md:SPSSODescriptor AuthnRequestsSigned="false" '
            'WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            f"<md:NameIDFormat>{NAMEID_FORMAT_PERSISTENT}</md:NameIDFormat>{acs}"
            "</md:SPSSODescriptor></md:EntityDescriptor>"
        )


def load_users(path: str | Path = DEMO_USERS_FILE) -> list[SAMLUser]:
    return [SAMLUser(**u) for u in json.loads(Path(path).read_text())["users"]]


def write_signing_identity(directory: str | Path) -> tuple[Path, Path]:
    """A fresh RSA key and self-signed certificate for signing assertions (minted at start-up;
    the portal trusts exactly this certificate). Returns ``(cert_path, key_path)``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Enclave demo SAML IdP signing")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "saml-idp-signing.pem", directory / "saml-idp-signing.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class SAMLIdP:
    """The IdP: pysaml2's ``Server`` configured for the given service providers."""

    def __init__(
        self, *, base_url: str, users: list[SAMLUser], sps: list[ServiceProvider], cert_dir: str | Path
    ) -> None:
        self.base_url = base_url
        self.entity_id = f"{base_url}/metadata"
        self.sso_url = f"{base_url}/sso/redirect"
        self.users = {u.username: u for u in users}
        self.cert_path, self.key_path = write_signing_identity(cert_dir)
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "xmlsec_binary": XMLSEC1,
                "key_file": str(self.key_path),
                "cert_file": str(self.cert_path),
                "metadata": {"inline": [sp.metadata() for sp in sps]},
                "allow_unknown_attributes": True,
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [
                                (self.sso_url, BINDING_HTTP_REDIRECT),
                                (f"{base_url}/sso/post", BINDING_HTTP_POST),
                            ]
                        },
                        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                        "want_authn_requests_signed": False,
                        "sign_assertion": True,
                        "sign_response": False,
                        "policy": {
                            "default": {
                                "lifetime": {"minutes": 5},
                                "attribute_restrictions": None,
                                "name_form": NAME_FORMAT_URI,
                            }
                        },
                    }
                },
            }
        )
        self.server = Server(config=config)

    @property
    def certificate(self) -> str:
        """The signing certificate's base64 body (``ENCLAVE_SAML_<ID>_IDP_X509CERT``)."""
        pem = self.cert_path.read_text()
        return "".join(line for line in pem.splitlines() if "CERTIFICATE" not in line)

    def metadata(self) -> str:
        from saml2.metadata import create_metadata_string

        return create_metadata_string(None, config=self.server.config, sign=False).decode()

    def parse_request(self, saml_request: str, binding: str = BINDING_HTTP_REDIRECT) -> dict[str, Any]:
        """Check an AuthnRequest (known SP, registered ACS URL) and return pysaml2's response
        arguments: ``in_response_to``, ``destination``, ``sp_entity_id``..."""
        request = self.server.parse_authn_request(saml_request, binding)
        return dict(self.server.response_args(request.message))

    def respond(
        self,
        username: str,
        *,
        in_response_to: str,
        destination: str,
        sp_entity_id: str,
        sign_assertion: bool = True,
        **_: Any,
    ) -> str:
        """The base64 SAMLResponse asserting ``username`` to ``sp_entity_id`` (Assertion signed)."""
        user = self.users[username]
        response = self.server.create_authn_response(
            identity=user.attributes(),
            in_response_to=in_response_to,
            destination=destination,
            sp_entity_id=sp_entity_id,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=user.uid),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
            sign_assertion=sign_assertion,
            sign_response=False,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        return base64.b64encode(str(response).encode()).decode()

    def post_form(self, destination: str, saml_response: str, relay_state: str) -> str:
        """The page that carries the Response to the ACS (HTTP-POST binding)."""
        return (
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>Demo SAML IdP · signing in</title></head>"
            f'<body><form id="saml" method="post" action="{html.escape(destination)}">'
            f'<input type="hidden" name="SAMLResponse" value="{html.escape(saml_response)}">'
            f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">'
            '<noscript><button type="submit">Continue to Enclave</button></noscript></form>'
            '<script>document.getElementById("saml").submit()</script></body></html>'
        )

    def login_page(self, saml_request: str, relay_state: str, sp_entity_id: str) -> str:
        hidden = (
            f'<input type="hidden" name="SAMLRequest" value="{html.escape(saml_request)}">'
            f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">'
        )
        rows = "".join(
            f'<li><form method="post" action="/sso/login">{hidden}'
            f'<button type="submit" name="username" value="{html.escape(u.username)}" '
            f'data-testid="saml-user-{html.escape(u.username)}">{html.escape(u.username)}</button>'
            f" <span>{html.escape(u.name)} · {html.escape(', '.join(u.groups) or 'no groups')}</span></form></li>"
            for u in self.users.values()
        )
        return (
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Demo SAML IdP · sign in</title>"
            "<style>body{font:16px system-ui;margin:3rem auto;max-width:40rem;padding:0 1rem}"
            "li{margin:.6rem 0;list-style:none}ul{padding:0}code{overflow-wrap:anywhere}"
            "button{font:inherit;padding:.3rem .8rem;min-width:12rem}span{color:#555}</style></head><body>"
            "<h1>Demo SAML identity provider</h1>"
            f"<p>Signing in to <code>{html.escape(sp_entity_id)}</code>. Loopback demo IdP (pysaml2): "
            "choose who you are. No real credentials exist here.</p>"
            f"<ul>{rows}</ul></body></html>"
        )


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, text: str, content_type: str = "text/html; charset=utf-8") -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _refuse(self, problem: str) -> None:
        self._send(400, f"<!doctype html><h1>Bad SAML request</h1><p>{html.escape(problem)}</p>")

    def do_GET(self) -> None:
        idp = self.server.idp
        url = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path == "/metadata":
            self._send(200, idp.metadata(), "application/samlmetadata+xml")
        elif url.path == "/sso/redirect":
            saml_request = params.get("SAMLRequest", "")
            try:
                args = idp.parse_request(saml_request)
            except Exception as e:  # pysaml2 raises many types for a bad or unknown request
                self._refuse(f"{type(e).__name__}: {e}")
                return
            self._send(200, idp.login_page(saml_request, params.get("RelayState", ""), args["sp_entity_id"]))
        else:
            self._send(404, "<!doctype html><h1>Not found</h1>")

    def do_POST(self) -> None:
        idp = self.server.idp
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode(), keep_blank_values=True).items()}
        if urlsplit(self.path).path != "/sso/login":
            self._send(404, "<!doctype html><h1>Not found</h1>")
            return
        username = form.get("username", "")
        try:
            args = idp.parse_request(form.get("SAMLRequest", ""))
        except Exception as e:
            self._refuse(f"{type(e).__name__}: {e}")
            return
        if username not in idp.users:
            self._refuse("unknown user")
            return
        response = idp.respond(username, **args)
        self._send(200, idp.post_form(args["destination"], response, form.get("RelayState", "")))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    idp: SAMLIdP
    verbose: bool = False


@dataclass
class SAMLIdPHandle:
    idp: SAMLIdP
    server: _Server
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        return self.idp.base_url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_saml_idp(
    *,
    sps: list[ServiceProvider],
    host: str = "127.0.0.1",
    port: int = 0,
    users: list[SAMLUser] | None = None,
    cert_dir: str | Path | None = None,
    verbose: bool = False,
) -> SAMLIdPHandle:
    """Serve the IdP in a background thread on http://host:port (``port=0``: a free port)."""
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError("the demo SAML IdP has no real credentials and only binds to loopback")
    server = _Server((host, port), _Handler, bind_and_activate=False)
    server.server_bind()  # the port is known; connections are accepted once the signing key exists
    idp = SAMLIdP(
        base_url=f"http://{host}:{server.server_address[1]}",
        users=users if users is not None else load_users(),
        sps=sps,
        cert_dir=cert_dir or tempfile.mkdtemp(prefix="saml-idp-"),
    )
    server.idp = idp
    server.verbose = verbose
    server.server_activate()
    thread = threading.Thread(target=server.serve_forever, name="demo-saml-idp", daemon=True)
    thread.start()
    return SAMLIdPHandle(idp=idp, server=server, thread=thread)
