"""bench/results.json: the one record of the figures the docs quote, each with its date, machine load and n.

The bench scripts update it (`record`) at the end of a run; the docs quote a figure as a link titled with its id,
`[6.21 s](development.md#figures "figure:loopback.sigkill-gap")`, and docs/development.md holds the table of them
all between `<!-- figures:begin -->` and `<!-- figures:end -->`. tests/docs/test_figures.py fails when a quoted
value or the table no longer matches this file. After a bench run:

    venv/bin/python -m bench.results          # rewrite the table in docs/development.md from bench/results.json
"""

from __future__ import annotations

import datetime
import json
import os
import statistics
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().with_name("results.json")
DEVELOPMENT = RESULTS.parents[1] / "docs" / "development.md"
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"
FIELDS = ("what", "unit", "median", "min", "max", "n", "date", "load", "machine", "source")


def load(path: Path = RESULTS) -> dict[str, dict]:
    figures = json.loads(path.read_text())
    for figure_id, entry in figures.items():
        missing = [name for name in FIELDS if name not in entry]
        if missing:
            raise ValueError(f"{path.name}: {figure_id} has no {', '.join(missing)} (every figure needs {FIELDS})")
    return figures


class LoadSpan:
    """The machine's 1-minute load average, sampled at the start of a run and at each figure it records."""

    def __init__(self) -> None:
        self.samples = [os.getloadavg()[0]]

    def text(self) -> str:
        self.samples.append(os.getloadavg()[0])
        low, high = min(self.samples), max(self.samples)
        return f"{low:.0f}" if round(low) == round(high) else f"{low:.0f}-{high:.0f}"


def record(
    figure_id: str, what: str, values: list[float], span: LoadSpan, source: str, unit: str = "s", **extra
) -> None:
    """Replace one figure in bench/results.json with this run's values (median, range, n, today, the load)."""
    figures = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    figures[figure_id] = {
        "what": what,
        "unit": unit,
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
        "n": len(values),
        "date": datetime.datetime.now(datetime.UTC).date().isoformat(),
        "load": span.text(),
        "machine": f"{os.cpu_count()} cores",
        "source": source,
        **extra,
    }
    RESULTS.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"recorded {figure_id} in {RESULTS.name}; run `python -m bench.results` to update docs/development.md")


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value >= 10 else f"{value:.2f}"


def value(entry: dict) -> str:
    """How the docs quote a figure: its median, else its range ('6.21 s', '15.8-16.4 s')."""
    unit = f" {entry['unit']}" if entry["unit"] else ""
    if entry["median"] is None:
        return f"{_number(entry['min'])}-{_number(entry['max'])}{unit}"
    return f"{_number(entry['median'])}{unit}"


def spread(entry: dict) -> str:
    """The quote with its range and n ('6.21 s (6.19-6.60, n=5)')."""
    if entry["median"] is None or entry["n"] == 1:
        return f"{value(entry)} (n={entry['n']})"
    return f"{value(entry)} ({_number(entry['min'])}-{_number(entry['max'])}, n={entry['n']})"


def table(figures: dict[str, dict]) -> str:
    rows = [
        "| id | figure | median (range, n) | date | load | machine | source |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for figure_id, entry in sorted(figures.items()):
        note = f" ({entry['note']})" if entry.get("note") else ""
        load_text = entry["load"] or "not recorded"
        rows.append(
            f"| `{figure_id}` | {entry['what']}{note} | {spread(entry)} | {entry['date']} | {load_text} "
            f"| {entry['machine']} | {entry['source']} |"
        )
    return "\n".join(rows)


def with_table(text: str, figures: dict[str, dict]) -> str:
    """`text` with the part between the figures markers replaced by the table of `figures`."""
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"{DEVELOPMENT.name} needs the markers {BEGIN} and {END}")
    return f"{head}{BEGIN}\n{table(figures)}\n{END}{tail}"


def main() -> None:
    text = DEVELOPMENT.read_text()
    updated = with_table(text, load())
    if updated != text:
        DEVELOPMENT.write_text(updated)
        print(f"updated the figures table in {DEVELOPMENT.relative_to(RESULTS.parents[1])}")
    else:
        print("the figures table is up to date", file=sys.stderr)


if __name__ == "__main__":
    main()
