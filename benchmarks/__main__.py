"""Run the benchmarks: ``python -m benchmarks`` runs them all, ``--list`` lists them,
``python -m benchmarks NAME [ARGS...]`` runs one (each is also ``python -m benchmarks.NAME``).

A benchmark is a module in this package with a ``main(argv: list[str]) -> int`` function.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).resolve().parent
    names = []
    for info in pkgutil.iter_modules([str(here)]):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        if callable(getattr(module, "main", None)):
            names.append(info.name)
    return sorted(names)


def run(argv: list[str]) -> int:
    names = available()
    if argv and argv[0] in {"-l", "--list"}:
        for name in names:
            doc = (importlib.import_module(f"benchmarks.{name}").__doc__ or "").strip().splitlines()
            print(f"{name:<20} {doc[0] if doc else ''}")
        return 0
    if argv and not argv[0].startswith("-"):
        name, rest = argv[0], argv[1:]
        if name not in names:
            print(f"unknown benchmark {name!r}; available: {', '.join(names)}", file=sys.stderr)
            return 2
        return int(importlib.import_module(f"benchmarks.{name}").main(rest))
    status = 0
    for name in names:
        print(f"== {name}")
        status |= int(importlib.import_module(f"benchmarks.{name}").main(argv))
    return status


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
