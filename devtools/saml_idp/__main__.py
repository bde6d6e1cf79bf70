"""``python -m devtools.saml_idp``: serve the demo SAML identity provider until interrupted.

It prints its signing certificate to ``--cert-dir``; configure the portal with (defaults below)::

    ENCLAVE_SAML_PROVIDERS=demo-saml
    ENCLAVE_SAML_DEMO_SAML_NAME="Demo SAML IdP"
    ENCLAVE_SAML_DEMO_SAML_IDP_ENTITY_ID=http://127.0.0.1:9100/metadata
    ENCLAVE_SAML_DEMO_SAML_IDP_SSO_URL=http://127.0.0.1:9100/sso/redirect
    ENCLAVE_SAML_DEMO_SAML_IDP_X509CERT=<the certificate body from --cert-dir/saml-idp-signing.pem>
    ENCLAVE_SAML_DEMO_SAML_SP_ENTITY_ID=http://127.0.0.1:8000/accounts/saml/demo-saml/metadata/
    ENCLAVE_SAML_DEMO_SAML_GROUPS_ATTR=http://schemas.microsoft.com/ws/2008/06/identity/claims/groups
"""

from __future__ import annotations

import argparse
import tempfile

from devtools.saml_idp.server import DEMO_USERS_FILE, ServiceProvider, load_users, start_saml_idp
from devtools.serving import wait_until_interrupted


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.saml_idp", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--users", default=str(DEMO_USERS_FILE), help="JSON file with the directory's people")
    parser.add_argument("--cert-dir", default="", help="where the signing certificate is written (a new one per start)")
    parser.add_argument("--sp-entity-id", default="http://127.0.0.1:8000/accounts/saml/demo-saml/metadata/")
    parser.add_argument(
        "--acs-url",
        action="append",
        help="an assertion consumer service URL of the service provider (repeatable); default: the portal's "
        "ACS for organisation 'demo-saml' on http://127.0.0.1:8000 and http://localhost:8000",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    acs_urls = args.acs_url or [
        f"{p}/accounts/saml/demo-saml/acs/" for p in ("http://127.0.0.1:8000", "http://localhost:8000")
    ]
    handle = start_saml_idp(
        sps=[ServiceProvider(args.sp_entity_id, tuple(acs_urls))],
        host=args.host,
        port=args.port,
        users=load_users(args.users),
        cert_dir=args.cert_dir or tempfile.mkdtemp(prefix="saml-idp-"),
        verbose=args.verbose,
    )
    print(f"demo SAML IdP listening on {handle.base_url} (entity id {handle.idp.entity_id})", flush=True)
    print(f"signing certificate: {handle.idp.cert_path}", flush=True)
    wait_until_interrupted()
    handle.stop()


if __name__ == "__main__":
    main()
