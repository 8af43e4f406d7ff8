"""The benchmarks' headline figures in one file, and the docs that quote them.

    python bench/results.py              # says where a doc disagrees with bench/results.json
    python bench/results.py --write-docs # rewrites every quoted figure from bench/results.json

Why: the same figure was quoted in README.md, docs/reliability.md and bench/README.md, each
copied by hand from a different run, and they drifted apart (a p99 of 0.6-0.77 s in one,
1.04 s in another). Now each benchmark records what it prints in `bench/results.json`
(`common.record_result`, which calls `record` here), and a doc quotes a figure by name between
two markers, which render as nothing:

    p99 <!--fig:ack.postgresql.paced.p99_max-->163 ms<!--/fig-->

`--write-docs` writes the text between the markers from the file (`NAME@date` writes the
figure's date instead); `tests/test_doc_figures.py` fails when a quoted text differs from the
file's, when a marker names no figure, or when a table's SQLite or PostgreSQL column holds a
number outside a marker (a figure copied by hand).

This module reads and writes only files (no database, no Slack), so the test stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
DOCS = (
    ROOT / "README.md",
    ROOT / "docs" / "reliability.md",
    ROOT / "docs" / "operations.md",  # the sizing, from bench/monday.py's figures
    ROOT / "bench" / "README.md",
)

MARKER = re.compile(r"<!--fig:(?P<name>[\w.\-]+?)(?P<date>@date)?-->(?P<text>.*?)<!--/fig-->")
OPEN = re.compile(r"<!--fig:")
CLOSE = "<!--/fig-->"
CODE = re.compile(r"`[^`]*`")  # an inline code span: a marker there is an example, shown as is
DASH = "–"  # a range: the en dash the docs use
UNITS_JOINED = {"x": "×", "%": "%", "": ""}  # written without a space before them


# --- the file ------------------------------------------------------------------------------------


def load(path: Path = RESULTS) -> dict[str, dict[str, Any]]:
    """Every recorded figure by name ({} when there is no file yet)."""
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))["figures"]


def record(path: Path, name: str, entry: dict[str, Any]) -> None:
    """Merge one figure into the file, replacing the one of that name; written whole to a
    temporary file and renamed, so an interrupted run never leaves half a file."""
    figures = load(path)
    figures[name] = entry
    body = {"figures": dict(sorted(figures.items()))}
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(path)


def number(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def shown(entry: dict[str, Any]) -> str:
    """A figure as the docs write it: `174 ms`, `1.30×`, `1.0–1.1×`, `10,284`, a word as is."""
    value, unit = entry["value"], entry.get("unit", "")
    if isinstance(value, str):
        return value
    digits = int(entry.get("digits", 0))
    if isinstance(value, list):
        low, high = (number(v, digits) for v in value)
        text = low if low == high else f"{low}{DASH}{high}"
    else:
        text = number(value, digits)
    if unit in UNITS_JOINED:
        return text + UNITS_JOINED[unit]
    return f"{text} {unit}"


# --- the docs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """One figure quoted in a doc."""

    doc: Path
    line: int
    name: str
    date: bool  # the figure's date, not its value
    text: str

    def where(self) -> str:
        return f"{shown_path(self.doc)}:{self.line}"


def shown_path(doc: Path) -> str:
    """A doc's path from the project's root (as given when it is elsewhere: a test's copy)."""
    return str(doc.relative_to(ROOT)) if doc.is_relative_to(ROOT) else str(doc)


def lines(doc: Path) -> list[tuple[int, str]]:
    """The doc's lines, numbered from 1, without their inline code spans."""
    text = doc.read_text(encoding="utf-8")
    return [(n, CODE.sub("", line)) for n, line in enumerate(text.splitlines(), 1)]


def quotes(doc: Path) -> list[Quote]:
    """Every marked figure of `doc`, in order."""
    found = []
    for n, line in lines(doc):
        for m in MARKER.finditer(line):
            found.append(Quote(doc, n, m["name"], bool(m["date"]), m["text"]))
    return found


def expected(quote: Quote, figures: dict[str, dict[str, Any]]) -> str | None:
    entry = figures.get(quote.name)
    if entry is None:
        return None
    return entry["date"] if quote.date else shown(entry)


def problems(
    docs: tuple[Path, ...] = DOCS, figures: dict[str, dict[str, Any]] | None = None
) -> list[str]:
    """What is wrong with the docs' figures, one line each; [] when they agree with the file."""
    figures = load() if figures is None else figures
    found: list[str] = []
    first: dict[tuple[str, bool], Quote] = {}
    for doc in docs:
        found += broken_markers(doc)
        found += unmarked_in_tables(doc)
        for quote in quotes(doc):
            want = expected(quote, figures)
            if want is None:
                found.append(f"{quote.where()}: no figure {quote.name!r} in bench/results.json")
            elif quote.text != want:
                found.append(
                    f"{quote.where()}: {quote.name} quoted as {quote.text!r}, "
                    f"bench/results.json says {want!r}"
                )
            other = first.setdefault((quote.name, quote.date), quote)
            if other.text != quote.text:
                found.append(
                    f"{quote.where()}: {quote.name} quoted as {quote.text!r}, "
                    f"but as {other.text!r} at {other.where()}"
                )
    return found


def broken_markers(doc: Path) -> list[str]:
    """A marker opened and never closed on its line (or closed twice) would be skipped by
    MARKER silently, leaving its figure unchecked."""
    found = []
    for n, line in lines(doc):
        whole = len(MARKER.findall(line))
        if len(OPEN.findall(line)) != whole or line.count(CLOSE) != whole:
            found.append(f"{shown_path(doc)}:{n}: a figure marker not closed on its line")
    return found


FIGURE_COLUMNS = ("SQLite", "PostgreSQL")


def unmarked_in_tables(doc: Path) -> list[str]:
    """Numbers in a table's SQLite or PostgreSQL column outside a marker: a figure copied by
    hand, which no run keeps true. A row citing a test (`tests/…`) is left out: that figure is
    what its test asserts, not a benchmark's."""
    found = []
    columns: list[int] = []
    raw = doc.read_text(encoding="utf-8").splitlines()
    for n, line in lines(doc):
        if not line.startswith("|"):
            columns = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not columns:  # a table's header
            columns = [i for i, c in enumerate(cells) if c in FIGURE_COLUMNS] or [-1]
            continue
        if "tests/" in raw[n - 1] or set(line) <= set("|-: "):
            continue
        for i in columns:
            if 0 <= i < len(cells) and re.search(r"\d", MARKER.sub("", cells[i])):
                found.append(
                    f"{shown_path(doc)}:{n}: {cells[i]!r} holds a number not written "
                    f"from bench/results.json"
                )
    return found


def write_docs(
    docs: tuple[Path, ...] = DOCS, figures: dict[str, dict[str, Any]] | None = None
) -> list[Path]:
    """Rewrite every quoted figure from the file; the docs that changed."""
    figures = load() if figures is None else figures
    changed = []
    for doc in docs:
        before = doc.read_text(encoding="utf-8")

        def fill(m: re.Match[str]) -> str:
            entry = figures.get(m["name"])
            if entry is None:
                return m[0]
            text = entry["date"] if m["date"] else shown(entry)
            return f"<!--fig:{m['name']}{m['date'] or ''}-->{text}<!--/fig-->"

        after = MARKER.sub(fill, before)
        if after != before:
            doc.write_text(after, encoding="utf-8")
            changed.append(doc)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write-docs", action="store_true", help="rewrite the docs' figures")
    args = parser.parse_args(argv)
    if args.write_docs:
        for doc in write_docs():
            print(f"rewrote {shown_path(doc)}")
    found = problems()
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
