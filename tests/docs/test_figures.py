"""Measured figures have one source, bench/results.json (written by the bench scripts): docs/development.md's table is
generated from it, and every figure a page quotes is a link titled with its id whose text is the recorded value."""

from __future__ import annotations

import json
import re

import pytest

from bench import results
from tests.docs.markdown import LINK, ROOT, doc_files, prose

FIGURES = results.load()
DOCS = doc_files()


def quoted(path):
    """(line, id, text, target) of every figure link in a page."""
    text = prose(path)
    return [
        (text.count("\n", 0, m.start()) + 1, m.group("title")[len("figure:") :], m.group("text"), m.group("target"))
        for m in LINK.finditer(text)
        if (m.group("title") or "").startswith("figure:")
    ]


def test_the_figures_table_is_generated_from_the_results_file():
    text = results.DEVELOPMENT.read_text()
    assert results.with_table(text, FIGURES) == text, "run `python -m bench.results` after changing bench/results.json"


def test_every_figure_has_a_date_a_load_and_n():
    for figure_id, entry in FIGURES.items():
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", entry["date"]), figure_id
        assert entry["load"] is None or re.fullmatch(r"\d+(-\d+)?", entry["load"]), figure_id
        assert isinstance(entry["n"], int) and entry["n"] >= 1, figure_id
        low, high = entry["min"], entry["max"]
        assert low <= (entry["median"] if entry["median"] is not None else low) <= high, figure_id


def test_every_figure_is_written_by_the_bench_script_it_names():
    for figure_id, entry in FIGURES.items():
        module = entry["source"].split()[2]  # "python -m bench.x ..."
        source = (ROOT / (module.replace(".", "/") + ".py")).read_text()
        assert f'"{figure_id}"' in source, f"{module} does not record {figure_id}"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_quoted_figure_is_the_recorded_one(path):
    wrong = []
    for line, figure_id, text, target in quoted(path):
        where = f"{path.name}:{line}"
        if figure_id not in FIGURES:
            wrong.append(f"{where}: no figure {figure_id} in bench/results.json")
            continue
        entry = FIGURES[figure_id]
        if text not in (results.value(entry), results.spread(entry)):
            wrong.append(f"{where}: {figure_id} quoted as {text!r}, recorded {results.spread(entry)!r}")
        if not target.endswith("#figures") or (path.parent / target.split("#")[0]).resolve() != results.DEVELOPMENT:
            if not (path == results.DEVELOPMENT and target == "#figures"):
                wrong.append(f"{where}: {figure_id} links {target}, not development.md#figures")
    assert wrong == []


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_recorded_figure_is_quoted_without_its_link(path):
    text = LINK.sub(lambda m: " " * len(m.group(0)), prose(path))
    text = re.sub(
        re.escape(results.BEGIN) + ".*?" + re.escape(results.END), "", text, flags=re.S
    )  # the generated table
    loose = []
    for figure_id, entry in FIGURES.items():
        value = results.value(entry)
        for match in re.finditer(r"(?<![\d.-])" + re.escape(value) + r"\b", text):
            loose.append(f"{path.name}:{text.count(chr(10), 0, match.start()) + 1}: {value} ({figure_id}) unlinked")
    assert loose == []


def test_a_bench_run_records_median_range_n_date_and_load(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "RESULTS", tmp_path / "results.json")
    (tmp_path / "results.json").write_text(json.dumps({"other": FIGURES["loopback.sigkill-gap"]}))
    span = results.LoadSpan()
    results.record("x.gap", "a gap", [1.5, 1.0, 2.25], span, "python -m bench.failover", note="n lost")
    recorded = results.load(tmp_path / "results.json")
    assert recorded["other"] == FIGURES["loopback.sigkill-gap"]
    entry = recorded["x.gap"]
    assert (entry["median"], entry["min"], entry["max"], entry["n"]) == (1.5, 1.0, 2.25, 3)
    assert re.fullmatch(r"\d+(-\d+)?", entry["load"]) and entry["note"] == "n lost"
    assert results.spread(entry) == "1.50 s (1.00-2.25, n=3)"


def test_every_suite_duration_the_readme_quotes_names_its_date():
    """The suite's durations are not bench figures, but each still names the run it comes from."""
    lines = (ROOT / "README.md").read_text().splitlines()
    quoted = [(number, line) for number, line in enumerate(lines, 1) if re.search(r"\d min\b", line)]
    assert quoted, "the README quotes how long the tests take"
    assert [n for n, line in quoted if not re.search(r"\d{4}-\d\d-\d\d", line)] == []
