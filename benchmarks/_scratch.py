"""Shared by the benchmarks: a scratch PostgreSQL database, created, migrated and dropped."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit


def scratch_url(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


TEMPLATE_ENV = "ENCLAVE_BENCH_TEMPLATE"  # a migrated database to copy instead of migrating again (set by the runner)


def recreate_database(url: str, name: str, *, drop_only: bool = False, template: str = "") -> None:
    import psycopg
    from psycopg import sql

    admin_url = scratch_url(url, "postgres").replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if template:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
            )
        elif not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def postgres_url_or_exit() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        print("DATABASE_URL must point at a PostgreSQL server (the scratch database is created there)", file=sys.stderr)
        raise SystemExit(2)
    return url


@contextmanager
def scratch_database(url: str, name: str, *, keep: bool = False) -> Iterator[str]:
    """Create ``name`` on the server of ``url``, set Django up on it, migrate, and drop it afterwards."""
    if name in {"postgres", "template0", "template1", urlsplit(url).path.lstrip("/")}:
        raise SystemExit(f"refusing to use {name!r} as the scratch database")
    template = os.environ.get(TEMPLATE_ENV, "")
    recreate_database(url, name, template=template)
    db_url = scratch_url(url, name)
    try:
        setup_django(db_url)
        if not template:
            from django.core.management import call_command

            call_command("migrate", verbosity=0, interactive=False)
        yield db_url
    finally:
        if not keep:
            from django.db import connections

            connections.close_all()
            recreate_database(url, name, drop_only=True)


def migrated_template(url: str, name: str) -> None:
    """Create ``name`` and migrate it, in a child process (Django is set up once per process)."""
    import subprocess

    recreate_database(url, name)
    code = (
        "import sys; from benchmarks._scratch import setup_django; setup_django(sys.argv[1]); "
        "from django.core.management import call_command; call_command('migrate', verbosity=0, interactive=False)"
    )
    subprocess.run([sys.executable, "-c", code, scratch_url(url, name)], check=True)
