"""Helpers for the durability tests: a private Redis the test can stop and start, pointing this
process's Celery app at it, and killing a worker process with everything it forked."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrivateRedis:
    """A ``redis-server`` on a spare loopback port, in memory only, that the test stops and restarts."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


def point_celery_at(url: str) -> None:
    """Make this process publish to ``url`` (drops the pooled connections to the old broker)."""
    from portal.celery import app

    celery: Any = app  # reaching into the app's connection pools, which Celery does not type
    celery.conf.broker_url = url
    if celery._pool is not None:
        celery._pool.force_close_all()
        celery._pool = None
    celery.amqp._producer_pool = None


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for tid in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
        except FileNotFoundError:
            continue
        for child in text.split():
            found.append(int(child))
            found += _children(int(child))
    return found


def sigkill_tree(pid: int) -> None:
    """SIGKILL a worker and the pool processes it forked, children first (nothing may finish its task)."""
    for victim in [*_children(pid), pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
