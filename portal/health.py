"""Health probes: what ``/readyz`` and ``manage.py doctor`` check.

``/healthz`` stays cheap (a database round trip, in ``portal.middleware``). ``/readyz`` adds the
broker, so a load balancer stops sending traffic to a web process that could record intent but
not hint the workers (it would still be safe — the sweeper re-sends — but slow). ``doctor`` runs
every probe: database, broker, workers answering a ping, beat's last run, and what higher apps
register here in their ``AppConfig.ready()`` (overdue work, cloud credentials), so this module
names no app above it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


Probe = Callable[[], Check]
_PROBES: dict[str, Probe] = {}
BEAT_STALE_AFTER = timedelta(minutes=10)  # django-celery-beat writes last_run_at every few minutes


def register(name: str, probe: Probe) -> None:
    """Add a probe ``doctor`` runs (idempotent by name)."""
    _PROBES[name] = probe


def database() -> Check:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return Check("database", True, f"{connection.vendor} answered in {1000 * (time.monotonic() - started):.0f} ms")


def broker() -> Check:
    """Open a connection to the broker and fail within ``CELERY_BROKER_CONNECTION_TIMEOUT``."""
    from portal.celery import app

    timeout = max(1, round(float(getattr(settings, "CELERY_BROKER_CONNECTION_TIMEOUT", 2.0))))
    started = time.monotonic()
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
        client = getattr(conn.default_channel, "client", None)
        if client is not None and hasattr(client, "ping"):
            client.ping()
    return Check("broker", True, f"{conn.as_uri()} answered in {1000 * (time.monotonic() - started):.0f} ms")


def workers(timeout: float = 2.0) -> Check:
    from portal.celery import app

    replies = app.control.ping(timeout=timeout) or []
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return Check("workers", False, f"no worker answered a ping within {timeout:.0f} s")
    return Check("workers", True, f"{len(names)} answered: {', '.join(names)}")


def beat() -> Check:
    from django_celery_beat.models import PeriodicTask

    tasks = PeriodicTask.objects.filter(enabled=True)
    if not tasks.exists():
        return Check("beat", False, "no periodic task is registered: run manage.py ensure_schedules")
    last = tasks.exclude(last_run_at__isnull=True).order_by("-last_run_at").values_list("last_run_at", flat=True)
    newest = last.first()
    if newest is None:
        return Check("beat", False, "beat has never run a periodic task")
    age = timezone.now() - newest
    ok = age <= BEAT_STALE_AFTER
    return Check("beat", ok, f"last run {int(age.total_seconds())} s ago" + ("" if ok else " (is beat running?)"))


def _safe(name: str, probe: Probe) -> Check:
    try:
        return probe()
    except Exception as exc:
        return Check(name, False, f"{type(exc).__name__}: {exc}"[:500])


def readiness() -> list[Check]:
    """What ``/readyz`` needs: the database and the broker."""
    return [_safe("database", database), _safe("broker", broker)]


def run_all() -> list[Check]:
    """Every probe, core ones first; each failure is reported, never raised."""
    checks = [*readiness(), _safe("workers", workers), _safe("beat", beat)]
    checks += [_safe(name, probe) for name, probe in sorted(_PROBES.items())]
    return checks
