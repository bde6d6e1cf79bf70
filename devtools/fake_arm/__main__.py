"""``python -m devtools.fake_arm``: serve the fake ARM until interrupted.

Point the portal at it with ENCLAVE_AZURE_ARM_ENDPOINT=<printed url>,
ENCLAVE_AZURE_CA_BUNDLE=<cert-dir>/fake-arm-ca.pem and ENCLAVE_AZURE_STATIC_TOKEN=<token>.
"""

from __future__ import annotations

import argparse
import os

from devtools.fake_arm.server import DEFAULT_TENANT_ID, DEFAULT_TOKEN, start_fake_arm, start_studio
from devtools.serving import wait_until_interrupted


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.fake_arm", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--cert-dir", default=".run/fake-arm", help="where the fresh CA/cert PEM and key are written")
    parser.add_argument("--token", default=os.environ.get("ENCLAVE_AZURE_STATIC_TOKEN") or DEFAULT_TOKEN)
    parser.add_argument("--tenant-id", default=os.environ.get("AZURE_TENANT_ID") or DEFAULT_TENANT_ID)
    parser.add_argument("--delay", type=float, default=5.0, help="seconds each state transition takes")
    parser.add_argument(
        "--studio-port",
        type=int,
        default=0,
        help="also serve the Azure ML studio stand-in over plain HTTP on this loopback port (0: HTTPS port only)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    handle = start_fake_arm(
        args.port,
        delay=args.delay,
        token=args.token,
        tenant_id=args.tenant_id,
        cert_dir=args.cert_dir,
        host=args.host,
        verbose=args.verbose,
    )
    print(f"fake ARM listening on {handle.url} (CA bundle: {handle.ca_path})", flush=True)
    stop_studio = None
    if args.studio_port:
        studio_url, stop_studio = start_studio(handle, args.studio_port, args.host)
        print(f"Azure ML studio stand-in on {studio_url}", flush=True)
    wait_until_interrupted()
    if stop_studio:
        stop_studio()
    handle.stop()


if __name__ == "__main__":
    main()
