"""Run the benchmarks: ``python -m benchmarks`` runs them all and prints one table (floor,
figure, ratio, verdict); ``--quick`` runs the same code on tiny sizes (CI runs that, to keep
the benchmarks from rotting: it checks they run, not how fast); ``--list`` lists them;
``python -m benchmarks NAME [ARGS...]`` runs one (each is also ``python -m benchmarks.NAME``).

Each benchmark runs in its own process (each sets Django up on its own scratch database).
A benchmark is a module of this package listed in ``BENCHMARKS`` (or, unlisted, any module
with a ``main(argv)``, run after them). A module with ``run(quick) -> list[Row]`` and
``standard_main`` reports rows into the table; one with only ``main(argv)`` is run for its
own output (and its exit status).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._report import Row, format_table, load
from benchmarks._scratch import TEMPLATE_ENV, migrated_template, postgres_url_or_exit, recreate_database

# The order of the table. Add a module here (or just drop it in the package) to have it run.
BENCHMARKS = ["pages", "audit_chain", "audit_verify", "onboarding", "access_report", "provisioning_overhead"]


def available() -> list[str]:
    here = Path(__file__).resolve().parent
    found = [info.name for info in pkgutil.iter_modules([str(here)]) if not info.name.startswith("_")]
    extra = sorted(name for name in found if name not in BENCHMARKS)
    names = [name for name in BENCHMARKS if name in found] + extra
    return [n for n in names if callable(getattr(importlib.import_module(f"benchmarks.{n}"), "main", None))]


def _reports_rows(name: str) -> bool:
    return callable(getattr(importlib.import_module(f"benchmarks.{name}"), "run", None))


def run(argv: list[str]) -> int:
    names = available()
    if argv and argv[0] in {"-l", "--list"}:
        for name in names:
            doc = (importlib.import_module(f"benchmarks.{name}").__doc__ or "").strip().splitlines()
            print(f"{name:<24} {doc[0] if doc else ''}")
        return 0
    if argv and not argv[0].startswith("-"):
        name, rest = argv[0], argv[1:]
        if name not in names:
            print(f"unknown benchmark {name!r}; available: {', '.join(names)}", file=sys.stderr)
            return 2
        return int(importlib.import_module(f"benchmarks.{name}").main(rest))
    quick = "--quick" in argv
    status = 0
    rows: list[Row] = []
    started = time.perf_counter()
    url = postgres_url_or_exit()
    template = "enclave_bench_template"
    print("== migrating one template database for every benchmark", flush=True)
    migrated_template(url, template)
    os.environ[TEMPLATE_ENV] = template
    with tempfile.TemporaryDirectory(prefix="enclave-bench-") as tmp:
        for name in names:
            print(f"\n== {name}{' (quick)' if quick else ''}", flush=True)
            command = [sys.executable, "-m", f"benchmarks.{name}"]
            out = Path(tmp) / f"{name}.json"
            if _reports_rows(name):
                command += [*(["--quick"] if quick else []), "--json", str(out)]
            else:
                command += argv
            code = subprocess.call(command)
            status |= code
            if code != 0:
                print(f"!! {name} exited {code}", file=sys.stderr)
            if out.exists():
                rows.extend(load(str(out)))
    recreate_database(url, template, drop_only=True)
    print(f"\n== all benchmarks{' (quick: sizes too small for the verdicts to mean anything)' if quick else ''}, "
          f"{time.perf_counter() - started:.0f} s; ratios compare figures measured in the same run")  # fmt: skip
    print(format_table(rows))
    return status


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
