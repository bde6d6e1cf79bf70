"""The fake's stand-in for Azure ML studio's compute page, so "Open" works end to end in the demo.

Azure ML studio is a browser application: the portal sends the owner to
``<studio>/compute/<name>/details?wsid=<workspace id>&tid=<tenant>``; studio signs the user in
and opens the compute instance for its *assigned user* only. The fake does the same in two hops:
the deep link checks that the compute exists in that workspace and mints a short-lived link
bound to the compute and its assigned user (HMAC-signed, expiring after ``LINK_TTL_SECONDS``),
then the landing page verifies that link and shows whose compute it is. A link for another
compute, a tampered one or an expired one is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

LINK_TTL_SECONDS = 120
DEEP_LINK = re.compile(r"^/studio/compute/(?P<name>[^/]+)/details$")
LANDING = "/studio/landing"


@dataclass
class StudioLinks:
    """Mints and checks the landing links; the key lives only in this process."""

    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def mint(self, claims: dict[str, Any], *, now: float | None = None) -> str:
        body = {**claims, "exp": int((now or time.time()) + LINK_TTL_SECONDS)}
        payload = base64.urlsafe_b64encode(json.dumps(body, sort_keys=True).encode()).rstrip(b"=")
        signature = base64.urlsafe_b64encode(hmac.new(self.key, payload, hashlib.sha256).digest()).rstrip(b"=")
        return f"{payload.decode()}.{signature.decode()}"

    def check(self, token: str, *, now: float | None = None) -> dict[str, Any] | None:
        """The claims of a genuine, unexpired link; None otherwise."""
        payload, _, signature = token.partition(".")
        expected = base64.urlsafe_b64encode(hmac.new(self.key, payload.encode(), hashlib.sha256).digest()).rstrip(b"=")
        if not payload or not hmac.compare_digest(expected.decode(), signature):
            return None
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if claims.get("exp", 0) < (now or time.time()):
            return None
        return claims


def landing_url(token: str) -> str:
    return f"{LANDING}?link={quote(token)}"


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · Azure Machine Learning studio (demo stand-in)</title>"
        "<style>body{font:16px system-ui;margin:2rem auto;max-width:44rem;padding:0 1rem}"
        "dt{font-weight:600;margin-top:.6rem}header{color:#555;border-bottom:1px solid #ddd;margin-bottom:1rem}"
        "</style></head><body><header>Azure Machine Learning studio · local demo stand-in</header>"
        f"<main>{body}</main></body></html>"
    )


def compute_page(claims: dict[str, Any], state: str) -> str:
    expires = time.strftime("%H:%M:%S UTC", time.gmtime(claims["exp"]))
    rows = [
        ("Compute instance", claims["compute"], "studio-compute"),
        ("Assigned to (Entra object id)", claims["assigned_user"], "studio-assigned-user"),
        ("Tenant", claims["tenant"], "studio-tenant"),
        ("Workspace", claims["workspace"], "studio-workspace"),
        ("State", state, "studio-state"),
        ("This link expires", expires, "studio-expires"),
    ]
    items = "".join(
        f'<dt>{html.escape(label)}</dt><dd data-testid="{testid}">{html.escape(str(value))}</dd>'
        for label, value, testid in rows
    )
    return page(
        claims["compute"],
        f"<h1>Compute instance {html.escape(claims['compute'])}</h1>"
        "<p>A personal compute instance: only its assigned user can open its applications "
        "(JupyterLab, VS Code, terminal).</p>"
        f"<dl>{items}</dl>",
    )
