"""Each test file's share of a run's time, from pytest's JUnit XML: `pytest --junitxml=run.xml`, then
`python -m tools.test_times run.xml`. Prints the Markdown table docs/development.md keeps ("Where the time goes").

A file's time is the sum of its tests' times (setup, call and teardown: a module- or session-scoped deployment is
counted in the test that started it). With tests running side by side the shares add up to more than the wall time.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree
from collections import defaultdict


def times_by_file(junit_xml: str) -> dict[str, tuple[int, float]]:
    """file -> (tests, seconds)."""
    tests: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    for case in ElementTree.parse(junit_xml).iter("testcase"):
        path = case.get("classname", "").replace(".", "/") + ".py"
        tests[path] += 1
        seconds[path] += float(case.get("time", 0))
    return {path: (tests[path], seconds[path]) for path in tests}


def table(times: dict[str, tuple[int, float]]) -> str:
    total = sum(seconds for _, seconds in times.values())
    rows = ["| file | tests | seconds | share |", "| --- | ---: | ---: | ---: |"]
    for path, (count, seconds) in sorted(times.items(), key=lambda item: -item[1][1]):
        rows.append(f"| `{path}` | {count} | {seconds:.0f} | {100 * seconds / total:.1f} % |")
    return "\n".join(rows)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tools.test_times JUNIT_XML")
    print(table(times_by_file(sys.argv[1])))
