#!/usr/bin/env bash
# The second README command: install what the tests need, then lint, type-check and run every test.
# Integration tests use PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) when reachable; when not,
# this says so loudly and runs the rest. ENCLAVE_REQUIRE_SERVICES=1 turns a missing service into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh requirements-dev.txt

if [ ! -x "${ENCLAVE_CHROMIUM:-/usr/bin/chromium}" ] && ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian's chromium for the browser tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core) >/dev/null
  else
    echo "!!! chromium is missing and cannot be installed here: browser tests will be skipped" >&2
  fi
fi

pg_up() { .venv/bin/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; }
redis_up() { .venv/bin/python -c "import socket; socket.create_connection(('127.0.0.1', 6379), 1)" 2>/dev/null; }
if [ -z "${DATABASE_URL:-}" ]; then
  if pg_up; then export DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
  else echo "!!! PostgreSQL is not reachable on 127.0.0.1:5432 — running on SQLite, integration tests will be skipped" >&2; fi
fi
if [ -z "${REDIS_URL:-}" ]; then
  if redis_up; then export REDIS_URL="redis://127.0.0.1:6379/14"
  else echo "!!! Redis is not reachable on 127.0.0.1:6379 — Celery integration tests will be skipped" >&2; fi
fi

echo "==> lint (ruff), types (mypy), layering (lint-imports) and import cycles"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy .
.venv/bin/lint-imports
PYTHONPATH=. .venv/bin/python scripts/import_cycles.py

echo "==> tests on ${DATABASE_URL:-SQLite} (Redis: ${REDIS_URL:-none})"
# The fault-injection tests swap this process's broker and kill workers, so each runs in a
# pytest process of its own and cannot leave the rest of the suite talking to a dead broker.
ISOLATED=(tests/integration/test_chaos.py tests/integration/test_durable_dispatch.py)
.venv/bin/python -m pytest "${ISOLATED[@]/#/--ignore=}" "$@"
for isolated in "${ISOLATED[@]}"; do
  echo "==> $isolated (in its own process)"
  .venv/bin/python -m pytest "$isolated" "$@"
done

if [[ "${DATABASE_URL:-}" == postgres* ]]; then
  echo "==> the benchmarks in quick mode (tiny sizes: they must run; their figures mean nothing here)"
  timeout 600 .venv/bin/python -m benchmarks --quick
fi

echo "==> the database-agnostic core again on SQLite, the embedded default (PostgreSQL-only tests ran above)"
DATABASE_URL="sqlite:///:memory:" REDIS_URL="" ENCLAVE_REQUIRE_SERVICES=0 .venv/bin/python -m pytest -m "not integration and not browser and not sso and not fuzz" \
  tests/audit tests/security -q "$@"
