"""Running a development stand-in in the foreground: block until the developer or the
supervisor (``make run``, docker compose) asks it to stop."""

from __future__ import annotations

import signal
import time


def wait_until_interrupted() -> None:
    """Return once SIGINT (Ctrl-C) or SIGTERM arrives, so the caller can stop its server cleanly
    instead of dying mid-request with a traceback.

    The handler only flips a flag. It used to call ``threading.Event.set``, which takes the
    event's lock; Ctrl-C delivers SIGINT to the whole process group and ``scripts/run.sh`` then
    sends SIGTERM, so a second signal could land while the main thread, just woken by the first,
    held that same lock inside ``Event.wait`` — the handler then waited on it for ever (a signal
    handler runs in the main thread), and the process hung until killed.
    """
    stop = {"requested": False}

    def request_stop(*_: object) -> None:
        stop["requested"] = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)
    while not stop["requested"]:
        time.sleep(0.1)
