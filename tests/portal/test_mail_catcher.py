"""The demo mail catcher keeps what the portal sends and shows it on its mailbox page."""

from __future__ import annotations

import smtplib
import socket
import urllib.request
from email.message import EmailMessage
from pathlib import Path

from devtools.mail_catcher.server import start_mail_catcher


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_sent_email_is_kept_in_the_folder_and_listed_on_the_mailbox_page(tmp_path: Path) -> None:
    port = _free_port()
    catcher = start_mail_catcher(folder=tmp_path / "mail", smtp_port=port, web_port=0)
    try:
        message = EmailMessage()
        message["From"], message["To"] = "enclave@localhost", "sam@bank.example"
        message["Subject"] = "Your access to Card transactions was approved"
        message.set_content("It is active until Friday.")
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            smtp.send_message(message)

        with urllib.request.urlopen(catcher.web_url, timeout=5) as page:
            listing = page.read().decode()
    finally:
        catcher.stop()

    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
    assert "Your access to Card transactions was approved" in listing
    assert "sam@bank.example" in listing
