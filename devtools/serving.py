"""Running a development stand-in in the foreground: block until the developer or the
supervisor (``make run``, docker compose) asks it to stop."""

from __future__ import annotations

import signal
import threading


def wait_until_interrupted() -> None:
    """Return once SIGINT (Ctrl-C) or SIGTERM arrives, so the caller can stop its server cleanly
    instead of dying mid-request with a traceback."""
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
