"""Pages and list endpoints at bank scale, each against the framework floor of the same run.

The floor is ``/bench/floor/`` (benchmarks._urls): an authenticated trivial page through the full
middleware stack, served by the same gunicorn (2 workers x 4 threads, explicit below) as every
page. Targets (issue 16): each page's p50 at 1 client <= 5x the floor's p50 (ratio >= 0.2), and
at 50 clients >= 1/5 of the floor's requests/s. Data: 10k users, 100k workspaces, 2k pending
access requests, 1M audit events (built in bulk, untimed). The client threads share the 2 cores
with the server, as they would on this kind of machine. Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m benchmarks.pages [--quick]
"""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._report import Row, standard_main
from benchmarks._scratch import postgres_url_or_exit, scratch_database

ROOT = Path(__file__).resolve().parents[1]
PORT = 8765
# The server, identical for the floor and every page.
GUNICORN = ["--workers", "2", "--threads", "4", "--worker-class", "gthread", "--preload", "--log-level", "warning"]
FLOOR = "/bench/floor/"


@dataclass(frozen=True)
class Size:
    users: int
    workspaces: int
    requests: int
    events: int
    clients: int
    single_seconds: float
    load_seconds: float


FULL = Size(users=10_000, workspaces=100_000, requests=2_000, events=1_000_000, clients=50, single_seconds=2.0,
            load_seconds=3.0)  # fmt: skip
QUICK = Size(users=50, workspaces=300, requests=60, events=2_000, clients=10, single_seconds=0.3, load_seconds=0.3)


@dataclass(frozen=True)
class Page:
    label: str
    path: str
    role: str


PAGES = [
    Page("dashboard (scientist)", "/", "scientist"),
    Page("catalog", "/catalog/", "scientist"),
    Page("my workspaces (200 own)", "/catalog/workspaces/", "scientist"),
    Page("my workspaces ?limit=200", "/catalog/workspaces/?limit=200", "scientist"),
    Page("fleet (of 100k)", "/catalog/fleet/", "auditor"),
    Page("fleet ?limit=200", "/catalog/fleet/?limit=200", "auditor"),
    Page("approvals inbox (2k pending)", "/access/inbox/", "approver"),
    Page("my requests", "/access/", "requester"),
    Page("audit trail (1M events)", "/audit/", "auditor"),
    Page("audit trail ?action=", "/audit/?action=workspace.requested", "auditor"),
    Page("API workspaces ?limit=200", "/api/v1/workspaces?limit=200", "scientist"),
    Page("API audit events ?limit=200", "/api/v1/audit-events?limit=200", "auditor"),
    Page("API access requests ?scope=inbox", "/api/v1/access-requests?scope=inbox", "approver"),
]


def build_world(size: Size) -> dict[str, Any]:
    """Bulk data at bank scale, and the role users the pages are fetched as."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from approvals.demo import seed_datasets
    from approvals.models import AccessRequest, Dataset
    from audit.models import AuditEvent
    from catalog.demo import seed_catalog
    from catalog.models import Template
    from portal.demo import seed_users
    from workspaces.models import Workspace

    people = seed_users()
    seed_catalog(people["cara.admin"])
    seed_datasets(people["cara.admin"])
    user_model = get_user_model()
    user_model.objects.bulk_create(
        [
            user_model(username=f"user{i:05d}", email=f"user{i:05d}@bank.example", cost_centre="CC-1001", password="!")
            for i in range(size.users)
        ],
        batch_size=5_000,
    )
    owners = list(user_model.objects.filter(username__startswith="user").order_by("id"))
    scientist = people["sam.scientist"]
    templates = list(Template.objects.prefetch_related("versions").all())
    versions = [v for t in templates for v in t.versions.all() if v.status == "published"]
    batch: list[Workspace] = []
    for i in range(size.workspaces):
        version = versions[i % len(versions)]
        owner = scientist if i < 200 else owners[i % len(owners)]
        batch.append(
            Workspace(
                owner=owner, template_version=version, name=f"analysis {i}", provider=version.template.provider,
                instance_type=version.spec.get("default_instance_type") or version.spec.get("default_vm_size"),
                volume_size_gb=20, data_classification="confidential", cost_centre="CC-1001",
                resource_name=f"enclave-bench{i:07d}", state="running" if i % 3 else "stopped",
            )
        )  # fmt: skip
        if len(batch) == 5_000:
            Workspace.objects.bulk_create(batch)
            batch = []
    Workspace.objects.bulk_create(batch)
    dataset = Dataset.objects.filter(provider="aws_sagemaker").select_related("policy").first()
    assert dataset is not None
    requester = owners[0]
    aws_ws = list(Workspace.objects.filter(provider="aws_sagemaker").exclude(owner=scientist)[: size.requests])
    AccessRequest.objects.bulk_create(
        [
            AccessRequest(
                requester=requester if n % 10 == 0 else w.owner,
                dataset=dataset,
                workspace=w,
                policy=dataset.policy,
                justification="Quarterly model",
                duration_hours=24,
                approver_group=dataset.policy.approver_group,
                approvals_required=1,
            )
            for n, w in enumerate(aws_ws)
        ],
        batch_size=2_000,
    )
    table = AuditEvent._meta.db_table
    start = (AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0) + 1
    with connection.cursor() as cursor:  # history in bulk: rows like real ones (the chain is not verified here)
        cursor.execute(
            f"""INSERT INTO {table} (seq, at, actor_id, actor_label, actor_roles, actor_ip, user_agent, action,
                target_type, target_id, target_display, outcome, details, request_id, prev_hash, hash)
            SELECT g, now() - make_interval(secs => %s - g), NULL, 'task:workspaces.poll', '[]', NULL, '',
                CASE WHEN g %% 7 = 0 THEN 'workspace.requested' ELSE 'workspace.state_changed' END,
                'workspaces.workspace', (g %% 100000)::text, 'analysis ' || (g %% 100000)::text, 'success',
                jsonb_build_object('before', 'provisioning', 'after', 'running'), 'bench-' || g::text,
                md5(g::text) || md5((g + 1)::text), md5((g + 1)::text) || md5(g::text)
            FROM generate_series(%s, %s) AS g""",
            [start + size.events, start, start + size.events - 1],
        )
        cursor.execute(f"ANALYZE {table}; ANALYZE {Workspace._meta.db_table}; ANALYZE {AccessRequest._meta.db_table}")
    from core.roles import Role, role_group

    requester.groups.add(role_group(Role.DATA_SCIENTIST))
    people["requester"] = requester
    return people


def session_cookie(user: Any) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store["_enclave_started"] = store["_enclave_last_seen"] = time.time() + 3600
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def count_queries(path: str, user: Any) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, HTTP_HOST="127.0.0.1")
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}: the benchmark is wrong")
    return len(ctx.captured_queries)


def load(path: str, cookie: str, *, clients: int, seconds: float) -> dict[str, float]:
    """``clients`` threads, each with one keep-alive connection, GETting ``path`` for ``seconds``."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        mine: list[float] = []
        bad = 0
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie, "Accept": "text/html,application/json"})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    bad += 1
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
                continue
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += bad

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "rps": len(ordered) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000 if ordered else float("nan"),
        "p95_ms": ordered[max(int(len(ordered) * 0.95) - 1, 0)] * 1000 if ordered else float("nan"),
        "errors": errors,
    }


def warm(path: str, cookie: str, *, clients: int = 8, each: int = 3) -> None:
    """Requests enough to reach every worker thread (first renders compile templates, fill caches)."""

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
        for _ in range(each):
            conn.request("GET", path, headers={"Cookie": cookie, "Accept": "text/html,application/json"})
            conn.getresponse().read()
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _measure(path: str, cookie: str, size: Size) -> tuple[dict[str, float], dict[str, float]]:
    warm(path, cookie)
    one = load(path, cookie, clients=1, seconds=size.single_seconds)
    many = load(path, cookie, clients=size.clients, seconds=size.load_seconds)
    return one, many


def run(quick: bool) -> list[Row]:
    size = QUICK if quick else FULL
    url = postgres_url_or_exit()
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks._settings"
    os.environ["ENCLAVE_MFA_REQUIRED_ROLES"] = ""  # MFA has its own tests; the bench measures pages
    with scratch_database(url, "enclave_bench_pages") as db_url:
        started = time.perf_counter()
        people = build_world(size)
        print(f"data: {size.users:,} users, {size.workspaces:,} workspaces, {size.requests:,} pending requests, "
              f"{size.events:,}+ audit events (built in {time.perf_counter() - started:.0f} s)")  # fmt: skip
        as_role = {
            "scientist": people["sam.scientist"],
            "approver": people["alex.approver"],
            "auditor": people["aud.auditor"],
            "requester": people["requester"],
        }
        queries = {p.label: count_queries(p.path, as_role[p.role]) for p in PAGES}
        floor_queries = count_queries(FLOOR, as_role["scientist"])
        cookies = {role: session_cookie(user) for role, user in as_role.items()}
        from django.db import connections

        connections.close_all()
        env = {**os.environ, "DATABASE_URL": db_url, "LOG_LEVEL": "WARNING", "DB_CONN_MAX_AGE": "600"}
        command = [
            str(ROOT / ".venv/bin/gunicorn"),
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{PORT}",
            *GUNICORN,
        ]
        print("server:", " ".join(command[1:]))
        server = subprocess.Popen(command, cwd=ROOT, env=env)
        rows: list[Row] = []
        try:
            for _ in range(200):
                try:
                    probe = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
                    probe.request("GET", "/healthz")
                    probe.getresponse().read()
                    break
                except OSError:
                    time.sleep(0.1)
            floor_one, floor_many = _measure(FLOOR, cookies["scientist"], size)
            print(
                f"\n{'page':<34} {'queries':>7} {'p50@1 ms':>9} {'req/s@' + str(size.clients):>10} {'p95 ms':>8} errors"
            )
            print(f"{'FLOOR ' + FLOOR:<34} {floor_queries:>7} {floor_one['p50_ms']:>9.1f} {floor_many['rps']:>10.1f} "
                  f"{floor_many['p95_ms']:>8.1f} {floor_many['errors']:.0f}")  # fmt: skip
            results = {}
            for page in PAGES:
                one, many = _measure(page.path, cookies[page.role], size)
                results[page.label] = (one, many)
                print(f"{page.label:<34} {queries[page.label]:>7} {one['p50_ms']:>9.1f} {many['rps']:>10.1f} "
                      f"{many['p95_ms']:>8.1f} {one['errors'] + many['errors']:.0f}", flush=True)  # fmt: skip
            again_one, again_many = _measure(FLOOR, cookies["scientist"], size)
            print(f"{'FLOOR again':<34} {floor_queries:>7} {again_one['p50_ms']:>9.1f} {again_many['rps']:>10.1f} "
                  f"{again_many['p95_ms']:>8.1f}")  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
    # The floor is the mean of its two measurements (before and after the pages), so drift in the
    # neighbours' load over the run shifts the floor as it shifts the pages.
    floor_p50 = (floor_one["p50_ms"] + again_one["p50_ms"]) / 2
    floor_rps = (floor_many["rps"] + again_many["rps"]) / 2
    for page in PAGES:
        one, many = results[page.label]
        note = f"{queries[page.label]} queries" + (
            f", {one['errors'] + many['errors']:.0f} errors" if one["errors"] + many["errors"] else ""
        )
        rows.append(Row(f"{page.label}: p50, 1 client", "p50 ms", floor_p50, one["p50_ms"], "ms", False, 0.2,
                        "<= 5x floor", note))  # fmt: skip
        rows.append(Row(f"{page.label}: {size.clients} clients", "req/s", floor_rps, many["rps"], "req/s", True, 0.2,
                        ">= 1/5 floor"))  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    return standard_main("python -m benchmarks.pages", __doc__, run, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
