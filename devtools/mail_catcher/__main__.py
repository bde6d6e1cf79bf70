"""``python -m devtools.mail_catcher``: catch the demo's e-mail until interrupted."""

from __future__ import annotations

import argparse
from pathlib import Path

from devtools.mail_catcher.server import start_mail_catcher
from devtools.serving import wait_until_interrupted


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.mail_catcher", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--web-port", type=int, default=8025)
    parser.add_argument("--folder", default=".run/mail", help="where each message is kept as an .eml file")
    args = parser.parse_args(argv)
    catcher = start_mail_catcher(
        folder=Path(args.folder), host=args.host, smtp_port=args.smtp_port, web_port=args.web_port
    )
    print(f"demo mail catcher: SMTP on {args.host}:{args.smtp_port}, mailbox at {catcher.web_url}", flush=True)
    wait_until_interrupted()
    catcher.stop()


if __name__ == "__main__":
    main()
