"""The README's run command, started for real on spare ports and stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]


def _spare_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _session_members(sid: int) -> list[str]:
    """Every live process in session ``sid`` (the run command is started as its leader)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        # fields: state ppid pgrp session ...; zombies are gone for our purpose (no code runs)
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(text.split(")", 1)[0] + ")")
    return members


def _untracked() -> set[str]:
    out = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO, capture_output=True, text=True, check=True
    )
    return set(out.stdout.splitlines())


def test_ctrl_c_stops_every_component_quickly_and_the_run_command_exits_0(tmp_path: Path) -> None:
    web, aws, arm, idp, mail_smtp, mail_web, studio = _spare_ports(7)
    run_dir = tmp_path / "run"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ENCLAVE_", "DATABASE_URL", "REDIS_URL", "DJANGO_", "CELERY_", "AZURE_", "AWS_"))
    }
    env.update(
        ENCLAVE_RUN_DIR=str(run_dir),
        ENCLAVE_PORT=str(web),
        ENCLAVE_AWS_PORT=str(aws),
        ENCLAVE_ARM_PORT=str(arm),
        ENCLAVE_IDP_PORT=str(idp),
        ENCLAVE_STUDIO_PORT=str(studio),
        ENCLAVE_MAIL_PORT=str(mail_smtp),
        ENCLAVE_MAIL_WEB_PORT=str(mail_web),
        HOME=str(tmp_path / "home"),  # gunicorn's default control socket lives under ~/.gunicorn
    )
    (tmp_path / "home").mkdir()
    before = _untracked()
    output = tmp_path / "run.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            ["scripts/run.sh"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 360
        while "Enclave is running" not in output.read_text(errors="replace"):
            assert process.poll() is None, output.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the run command did not come up"
            time.sleep(0.5)
        started = _session_members(process.pid)
        assert len(started) >= 7, started  # run.sh, stand-ins, IdP, mail catcher, worker, beat, web

        # A browser that signed in through the demo IdP keeps a connection to it open.
        idle = socket.create_connection(("127.0.0.1", idp))
        idle.sendall(b"GET /jwks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert idle.recv(65536).startswith(b"HTTP/1.1 200")

        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        stopped_at = time.monotonic()
        status = process.wait(timeout=10)
        while _session_members(process.pid) and time.monotonic() - stopped_at < 10:
            time.sleep(0.1)
        leftovers = _session_members(process.pid)
        elapsed = time.monotonic() - stopped_at
        idle.close()
    finally:
        if process.poll() is None or _session_members(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    assert status == 0, output.read_text(errors="replace")[-2000:]
    assert leftovers == []
    assert elapsed < 10
    assert _untracked() == before, "the run left files outside its run directory"
    assert not (tmp_path / "home" / ".gunicorn").exists(), "gunicorn's control socket went to a machine-wide path"
    logs = {p.name: p.read_text(errors="replace") for p in (run_dir / "logs").glob("*.log")}
    assert "Traceback" not in logs["fake-arm.log"]
    assert "No directory at" not in logs["web.log"]  # the staticfiles warning
