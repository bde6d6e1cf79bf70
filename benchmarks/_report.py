"""The one table every benchmark feeds: floor, figure, ratio and verdict.

Machines of the same kind differ by 4x and this one is shared, so every target is a ratio to a
floor measured in the same run (an authenticated trivial page, a plain INSERT + COMMIT, a
server-side cursor stream, ...). A benchmark module returns ``Row``s from
``run(quick: bool) -> list[Row]``; run as ``python -m benchmarks.NAME --json FILE`` it writes
them there for the runner (``python -m benchmarks``), which prints them all in one table.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    """One measured figure against its floor.

    ``ratio`` is figure / floor when ``higher_is_better`` (a rate), floor / figure otherwise (a
    time), so a ratio of 1 is "as good as the floor" and the target is always a minimum:
    p50 <= 5x the floor is ratio >= 0.2. With no floor (an absolute target such as "< 20 ms"),
    ``ratio`` is target / figure for times and figure / target for rates, and ``min_ratio`` 1.
    """

    name: str
    floor_label: str
    floor: float | None
    figure: float
    unit: str
    higher_is_better: bool
    min_ratio: float
    target: str
    note: str = ""

    @property
    def ratio(self) -> float:
        if self.floor is None or self.floor <= 0 or self.figure <= 0 or math.isnan(self.figure):
            return float("nan")
        return self.figure / self.floor if self.higher_is_better else self.floor / self.figure

    @property
    def verdict(self) -> str:
        ratio = self.ratio
        if math.isnan(ratio):
            return "n/a"
        return "meets" if ratio >= self.min_ratio else "BELOW"


def absolute(name: str, figure: float, unit: str, *, limit: float, higher_is_better: bool, target: str) -> Row:
    """A row whose target is an absolute figure: the limit plays the floor's part."""
    return Row(name, "target", limit, figure, unit, higher_is_better, 1.0, target)


def _num(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}" if value < 10 else f"{value:,.1f}"


def format_table(rows: Sequence[Row]) -> str:
    head = f"{'benchmark':<46} {'floor':>22} {'figure':>12} {'unit':<9} {'ratio':>6} {'target':<24} verdict"
    lines = [head, "-" * len(head)]
    for r in rows:
        floor = f"{r.floor_label} {_num(r.floor)}" if r.floor is not None else "—"
        ratio = "—" if math.isnan(r.ratio) else f"{r.ratio:.2f}"
        lines.append(
            f"{r.name:<46} {floor:>22} {_num(r.figure):>12} {r.unit:<9} {ratio:>6} {r.target:<24} {r.verdict}"
            + (f"  ({r.note})" if r.note else "")
        )
    return "\n".join(lines)


def dump(rows: Sequence[Row], path: str | None) -> None:
    print(format_table(rows))
    if path:
        Path(path).write_text(json.dumps([asdict(r) for r in rows]))


def load(path: str) -> list[Row]:
    return [Row(**data) for data in json.loads(Path(path).read_text())]


def standard_main(prog: str, doc: str | None, run: Callable[[bool], list[Row]], argv: list[str] | None) -> int:
    """``python -m benchmarks.NAME [--quick] [--json FILE]`` for a module with ``run(quick)``."""
    parser = argparse.ArgumentParser(prog=prog, description=(doc or "").strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the benchmark runs, not speed")
    parser.add_argument("--json", help="also write the rows to this file (for the runner)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    dump(run(args.quick), args.json)
    return 0
