"""The demo mail catcher: SMTP in (aiosmtpd), one ``.eml`` file per message, a small HTML page out.

The embedded demo has no mail server, so notifications used to appear only in the worker's log.
``scripts/run.sh`` points ``EMAIL_URL`` here; the portal's footer links to the page in demo mode.
Loopback only: anyone who can reach it reads every message.
"""

from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from aiosmtpd.controller import Controller

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class _Store:
    """Writes each message to ``<folder>/<time>-<n>.eml``; the SMTP handler aiosmtpd calls."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._n = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self._n += 1
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{self._n:04d}.eml"
        content = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        (self.folder / name).write_bytes(content)
        return "250 Message accepted for delivery"

    def messages(self) -> list[tuple[str, EmailMessage]]:
        """Newest first."""
        found = []
        for path in sorted(self.folder.glob("*.eml"), reverse=True):
            found.append((path.name, message_from_bytes(path.read_bytes(), policy=policy.default)))
        return found  # type: ignore[return-value]


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


class _Handler(BaseHTTPRequestHandler):
    server: _MailServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        store = self.server.store
        path = unquote(urlsplit(self.path).path)
        if path in ("/", ""):
            rows = "".join(
                f'<li><a href="/m/{html.escape(name)}">{html.escape(str(m["subject"] or "(no subject)"))}</a>'
                f" <span>to {html.escape(str(m['to']))} · {html.escape(str(m['date'] or ''))}</span></li>"
                for name, m in store.messages()
            )
            rows = rows or "<li>No e-mail yet.</li>"
            body = f"<h1>Demo mailbox</h1><p>Every e-mail the demo sent.</p><ul>{rows}</ul>"
        elif path.startswith("/m/") and "/" not in path[3:] and (store.folder / path[3:]).is_file():
            m = message_from_bytes((store.folder / path[3:]).read_bytes(), policy=policy.default)
            body = (
                f'<p><a href="/">← all messages</a></p><h1>{html.escape(str(m["subject"]))}</h1>'
                f"<p>From {html.escape(str(m['from']))}<br>To {html.escape(str(m['to']))}</p>"
                f"<pre>{html.escape(_body(m))}</pre>"  # type: ignore[arg-type]
            )
        else:
            self.send_error(404)
            return
        data = (
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>Demo mailbox</title>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<style>body{font:16px system-ui;margin:2rem auto;max-width:48rem;padding:0 1rem}li{margin:.5rem 0}"
            "span{color:#555}pre{white-space:pre-wrap;background:#f4f4f4;padding:1rem}</style></head>"
            f"<body>{body}</body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _MailServer(ThreadingHTTPServer):
    daemon_threads = True
    store: _Store


@dataclass
class MailCatcher:
    controller: Controller
    web: _MailServer
    thread: threading.Thread

    @property
    def web_url(self) -> str:
        host, port = str(self.web.server_address[0]), self.web.server_address[1]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.web.shutdown()
        self.web.server_close()
        self.controller.stop()


def start_mail_catcher(
    *, folder: Path, host: str = "127.0.0.1", smtp_port: int = 1025, web_port: int = 0
) -> MailCatcher:
    if host not in LOOPBACK:
        raise ValueError("the demo mail catcher shows every message to anyone and only binds to loopback")
    store = _Store(folder)
    controller = Controller(store, hostname=host, port=smtp_port)
    controller.start()
    web = _MailServer((host, web_port), _Handler)
    web.store = store
    thread = threading.Thread(target=web.serve_forever, name="mail-catcher-web", daemon=True)
    thread.start()
    return MailCatcher(controller=controller, web=web, thread=thread)
