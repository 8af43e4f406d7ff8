"""The figures the docs quote are the ones the benchmarks recorded (issue 22, item 8).

README.md, docs/reliability.md and bench/README.md once quoted the same figure from different
runs (the ack's p99 as 0.6-0.77 s, 1.04 s and 770 ms). Now every benchmark records its headline
figures in bench/results.json (`bench/common.record_result`) and a doc quotes one by name
between markers (`bench/results.py`). These tests read files only: the docs and that file as
they are, and copies in a temporary folder for the checker's own failures.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, ModuleType]]:
    """bench/results.py and bench/common.py, imported as the benchmarks import them (bench/ on
    the path), and forgotten afterwards so that no other test meets these module names."""
    monkeypatch.syspath_prepend(str(BENCH))
    for name in ("results", "common"):
        sys.modules.pop(name, None)
    results, common = importlib.import_module("results"), importlib.import_module("common")
    yield results, common
    common._not_recording = None
    for name in ("results", "common"):
        sys.modules.pop(name, None)


def fig(name: str, text: str) -> str:
    return f"<!--fig:{name}-->{text}<!--/fig-->"


FIGURES = {
    "ack.p99": {"value": 163.4, "unit": "ms", "digits": 0},
    "ack.ratio": {"value": [1.0, 1.14], "unit": "x", "digits": 1},
    "burst.requests": {"value": 10284, "unit": "", "digits": 0, "date": "2026-12-07"},
}


def test_the_docs_quote_every_figure_as_bench_results_json_holds(bench):
    results, _ = bench
    assert results.problems() == []


def test_the_figures_that_once_disagreed_are_quoted_from_the_file_in_each_doc(bench):
    """The ack's p99 with 50 clients back to back: the README, the known limits and the bench's
    own table each quote it by name now, so they cannot drift apart again."""
    results, _ = bench
    once = [doc for doc in results.DOCS if doc.name in ("README.md", "reliability.md")]
    assert len(once) == 3
    for doc in once:
        named = {q.name for q in results.quotes(doc)}
        assert "ack.postgresql.back_to_back.p99_max" in named, doc
        assert "ack.postgresql.paced.p99_max" in named, doc


def test_every_recorded_figure_says_when_on_what_and_by_which_command(bench):
    results, _ = bench
    figures = results.load()
    assert figures, "bench/results.json is empty"
    for name, entry in figures.items():
        assert re.fullmatch(r"[a-z_]+(\.[\w\-]+)+", name), name
        date.fromisoformat(entry["date"])
        assert entry["machine"] and entry["run"].startswith("bench/"), (name, entry)
        assert isinstance(entry["value"], (int, float, str, list)), (name, entry)
        if "baseline_ratio" in entry:
            assert entry["baseline"], (name, entry)
        results.shown(entry)  # every figure can be written


def test_figures_are_written_as_the_docs_write_them(bench):
    results, _ = bench
    assert results.shown(FIGURES["ack.p99"]) == "163 ms"
    assert results.shown(FIGURES["ack.ratio"]) == "1.0–1.1×"
    assert results.shown({"value": [1.04, 1.01], "unit": "x", "digits": 1}) == "1.0×"
    assert results.shown(FIGURES["burst.requests"]) == "10,284"
    assert results.shown({"value": 2.681, "unit": "s", "digits": 2}) == "2.68 s"
    assert results.shown({"value": "503", "unit": ""}) == "503"


def test_a_figure_quoted_unlike_the_file_is_named_with_its_place(bench, tmp_path):
    results, _ = bench
    doc = tmp_path / "doc.md"
    doc.write_text(f"p99 {fig('ack.p99', '163 ms')}\n\np99 {fig('ack.p99', '0.77 s')}\n")
    found = results.problems((doc,), FIGURES)
    assert any(
        ":3: ack.p99 quoted as '0.77 s', bench/results.json says '163 ms'" in p for p in found
    )
    assert not any(":1:" in p for p in found), found


def test_one_figure_quoted_two_ways_in_two_docs_is_named(bench, tmp_path):
    results, _ = bench
    readme, reliability = tmp_path / "README.md", tmp_path / "reliability.md"
    readme.write_text(f"ratio {fig('ack.ratio', '1.0–1.1×')}\n")
    reliability.write_text(f"ratio {fig('ack.ratio', '1.0–1.2×')}\n")
    found = results.problems((readme, reliability), FIGURES)
    assert any(
        "reliability.md:1: ack.ratio quoted as '1.0–1.2×', but as '1.0–1.1×' at" in p
        and "README.md:1" in p
        for p in found
    ), found


def test_a_figure_the_file_does_not_hold_and_a_marker_left_open_are_named(bench, tmp_path):
    results, _ = bench
    doc = tmp_path / "doc.md"
    doc.write_text(f"{fig('ack.p50', '12 ms')}\n<!--fig:ack.p99-->163 ms\n")
    found = results.problems((doc,), FIGURES)
    assert any("doc.md:1: no figure 'ack.p50'" in p for p in found), found
    assert any("doc.md:2: a figure marker not closed on its line" in p for p in found), found


def test_a_marker_in_inline_code_is_an_example_not_a_quote(bench, tmp_path):
    results, _ = bench
    doc = tmp_path / "doc.md"
    doc.write_text("quote one as `<!--fig:NAME-->…<!--/fig-->`, or `<!--fig:` alone\n")
    assert results.quotes(doc) == [] and results.problems((doc,), FIGURES) == []


def test_a_number_typed_by_hand_into_a_figure_column_is_named(bench, tmp_path):
    """Only the SQLite and PostgreSQL columns: the others hold targets and descriptions; and a
    row citing a test is its test's figure."""
    results, _ = bench
    doc = tmp_path / "doc.md"
    doc.write_text(
        "| what | SQLite | PostgreSQL | target |\n"
        "| --- | --- | --- | --- |\n"
        f"| 50 clients, 1,000 engagements | {fig('ack.p99', '163 ms')} | 174 ms | < 1 s |\n"
        "| statements (`tests/test_list_queries.py`) | 5 | 5 | flat |\n"
        f"| requests | {fig('burst.requests', '10,284')} of them | — | 0 |\n"
    )
    found = results.problems((doc,), FIGURES)
    assert found == [f"{doc}:3: '174 ms' holds a number not written from bench/results.json"]


def test_a_benchmarks_recorded_figure_reaches_the_docs(bench, tmp_path, monkeypatch):
    """record_result merges into the file; --write-docs writes it between the markers; a later
    run's figure leaves the doc wrong until the docs are written again."""
    results, common = bench
    path = tmp_path / "results.json"
    monkeypatch.setenv("CADENCE_BENCH_RESULTS", str(path))
    monkeypatch.setattr(sys, "argv", [str(BENCH / "ack.py"), "--quick"])
    common.record_result("ack.sqlite.paced.p99_max", 174.2, "ms", baseline_ratio=4.2,
                         baseline="the bare app's p99")  # fmt: skip
    common.record_result("ack.sqlite.one_client.p50_ratio", (1.02, 1.13), "x", digits=1)
    figures = results.load(path)
    assert set(figures) == {"ack.sqlite.paced.p99_max", "ack.sqlite.one_client.p50_ratio"}
    entry = figures["ack.sqlite.paced.p99_max"]
    assert entry["run"] == "bench/ack.py --quick" and entry["baseline_ratio"] == 4.2
    assert entry["date"] == date.today().isoformat() and "cores, load average" in entry["machine"]

    doc = tmp_path / "doc.md"
    doc.write_text(
        f"p99 {fig('ack.sqlite.paced.p99_max', '?')}, p50 "
        f"{fig('ack.sqlite.one_client.p50_ratio', '?')} the bare app's, measured "
        "<!--fig:ack.sqlite.paced.p99_max@date-->?<!--/fig-->\n"
    )
    assert results.write_docs((doc,), results.load(path)) == [doc]
    assert doc.read_text() == (
        f"p99 {fig('ack.sqlite.paced.p99_max', '174 ms')}, p50 "
        f"{fig('ack.sqlite.one_client.p50_ratio', '1.0–1.1×')} the bare app's, measured "
        f"<!--fig:ack.sqlite.paced.p99_max@date-->{entry['date']}<!--/fig-->\n"
    )
    assert results.problems((doc,), results.load(path)) == []

    common.record_result("ack.sqlite.paced.p99_max", 201.0, "ms")
    assert results.load(path)["ack.sqlite.one_client.p50_ratio"]["value"] == [1.02, 1.13]
    assert results.problems((doc,), results.load(path)) == [
        f"{doc}:1: ack.sqlite.paced.p99_max quoted as '174 ms', bench/results.json says '201 ms'"
    ]


def test_a_run_that_stops_recording_leaves_the_file_alone(bench, tmp_path, monkeypatch, capsys):
    _, common = bench
    path = tmp_path / "results.json"
    monkeypatch.setenv("CADENCE_BENCH_RESULTS", str(path))
    common.stop_recording("--quick: smaller sizes")
    common.record_result("engine.sqlite.peak_rss", 99.0, "MB")
    assert not path.exists()
    assert "not recorded in bench/results.json: --quick: smaller sizes" in capsys.readouterr().out
