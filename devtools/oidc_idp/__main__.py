"""``python -m devtools.oidc_idp``: serve the demo OpenID Connect provider until interrupted.

Configure the portal with (for the defaults below)::

    ENCLAVE_OIDC_PROVIDERS=demo
    ENCLAVE_OIDC_DEMO_NAME="Demo IdP"
    ENCLAVE_OIDC_DEMO_ISSUER=http://127.0.0.1:9000
    ENCLAVE_OIDC_DEMO_CLIENT_ID=enclave-demo
    ENCLAVE_OIDC_DEMO_CLIENT_SECRET=enclave-demo-secret
"""

from __future__ import annotations

import argparse

from devtools.oidc_idp.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEMO_USERS_FILE,
    Client,
    load_users,
    start_idp,
)
from devtools.serving import wait_until_interrupted

DEFAULT_PORTALS = ("http://127.0.0.1:8000", "http://localhost:8000")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.oidc_idp", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--users", default=str(DEMO_USERS_FILE), help="JSON file with the demo users")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument(
        "--redirect-uri",
        action="append",
        help="a registered redirect URI (repeatable; exact match); default: the portal's allauth callback for "
        "provider 'demo' on http://127.0.0.1:8000 and http://localhost:8000",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    redirect_uris = set(args.redirect_uri or [f"{p}/accounts/oidc/demo/login/callback/" for p in DEFAULT_PORTALS])
    handle = start_idp(
        host=args.host,
        port=args.port,
        users=load_users(args.users),
        clients=[Client(args.client_id, args.client_secret, redirect_uris)],
        verbose=args.verbose,
    )
    print(f"demo OIDC IdP listening on {handle.issuer} (client {args.client_id})", flush=True)
    wait_until_interrupted()
    handle.stop()


if __name__ == "__main__":
    main()
