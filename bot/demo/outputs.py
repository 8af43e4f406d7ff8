"""The demo's folder: the files the app uploaded (the digest charts, the CSV export), the
transcript as text and as a page; whether `--out` can take them (asked before the run, so a bad
folder costs a line, not a minute's run and a traceback); and the plain list of what it holds."""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.demo.recorder import RecordingSlack
from bot.demo.transcript import SavedFile, Transcript

ZONE = ZoneInfo("Europe/Berlin")
PNG = b"\x89PNG\r\n\x1a\n"
CHART = "digest-chart.png"
EXPORT_FOLDER = "export"
TRANSCRIPT = "transcript.md"
PAGE = "index.html"


def refuse(folder: Path) -> str | None:
    """Why the demo cannot write to `folder`, in one line; None when it can. The folder is
    created (with its parents) if missing, and a file is written in it and removed: the only
    sure test, whatever the permissions, the file system or the user."""
    if folder.exists() and not folder.is_dir():
        return f"--out {folder} is a file: name a folder (it is created if missing)"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return f"--out {folder}: the folder cannot be created ({e.strerror}): name another"
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        return f"--out {folder}: nothing can be written there ({e.strerror}): name another folder"
    return None


def uploaded_files(fake: RecordingSlack) -> dict[str, SavedFile]:
    """Every file the app uploaded and shared, by file id, named for the folder: a chart by
    the day it was posted (digest-chart-2026-12-04.png), anything else by its own name."""
    saved: dict[str, SavedFile] = {}
    taken: set[str] = set()
    alt: dict[str, str] = {}
    for stamp in fake.stamps:
        call = stamp.call
        if call is not None and call.method == "files.getUploadURLExternal" and call.ok:
            alt[str(call.response.get("file_id"))] = str(call.args.get("alt_txt") or "")
        if call is None or call.method != "files.completeUploadExternal" or not call.ok:
            continue
        for uploaded in call.response.get("files") or []:
            found = fake.file_bytes(str(uploaded.get("id")))
            if found is None:
                continue
            filename, data = found
            is_image = data.startswith(PNG)
            if is_image:
                name = f"digest-chart-{stamp.at.astimezone(ZONE):%Y-%m-%d}.png"
            else:
                name = Path(filename).name
            stem, dot, ext = name.rpartition(".")
            n = 2
            while name in taken:
                name, n = f"{stem}-{n}{dot}{ext}", n + 1
            taken.add(name)
            title = str(uploaded.get("title") or filename)
            file_id = str(uploaded["id"])
            saved[file_id] = SavedFile(file_id, name, title, is_image, data, alt.get(file_id, ""))
    return saved


@dataclass(frozen=True)
class Written:
    folder: Path
    transcript: Path
    page: Path
    chart: Path | None
    charts: list[Path]
    export_zip: Path | None
    export_folder: Path | None
    csv_files: list[str]


def write(
    folder: Path, transcript: Transcript, markdown: str, page: str, files: Sequence[SavedFile]
) -> Written:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in (*folder.glob("digest-chart*.png"), *folder.glob("cadence-*.zip")):
        stale.unlink()  # an earlier run's, so the folder holds this run's files only
    (folder / TRANSCRIPT).write_text(markdown, encoding="utf-8")
    (folder / PAGE).write_text(page, encoding="utf-8")
    charts: list[Path] = []
    export_zip: Path | None = None
    for saved in files:
        path = folder / saved.name
        path.write_bytes(saved.data)
        if saved.is_image:
            charts.append(path)
        elif zipfile.is_zipfile(io.BytesIO(saved.data)):
            export_zip = path
    chart = None
    if charts:
        chart = folder / CHART
        shutil.copyfile(charts[-1], chart)
    export_folder = None
    csv_files: list[str] = []
    if export_zip is not None:
        export_folder = folder / EXPORT_FOLDER
        shutil.rmtree(export_folder, ignore_errors=True)
        with zipfile.ZipFile(export_zip) as archive:
            archive.extractall(export_folder)
            csv_files = sorted(n for n in archive.namelist() if n.endswith(".csv"))
    return Written(
        folder, folder / TRANSCRIPT, folder / PAGE, chart, charts, export_zip, export_folder,
        csv_files,
    )  # fmt: skip


def _posted_on(chart: Path) -> str:
    """`Fri 4 Dec`, from a chart's name (digest-chart-2026-12-04.png, see `uploaded_files`)."""
    try:
        day = date.fromisoformat(chart.name.removeprefix("digest-chart-")[:10])
    except ValueError:
        return "a weekly digest"
    return f"{day:%a} {day.day} {day:%b}"


def describe(written: Written) -> list[str]:
    """One plain line per file or folder written, its name first: what it is and what to do
    with it."""
    rows = [
        (written.page.name, "the weeks as Slack showed them: open it in a browser"),
        (written.transcript.name, "the same, as text"),
    ]
    rows += [
        (c.name, f"the chart posted with the digest of {_posted_on(c)}") for c in written.charts
    ]
    if written.chart is not None and written.charts:
        rows.append(
            (written.chart.name, f"a copy of the latest chart ({_posted_on(written.charts[-1])})")
        )
    if written.export_zip is not None:
        rows.append((written.export_zip.name, "what /cadence export sent, as Slack delivered it"))
    if written.export_folder is not None:
        tables = len(written.csv_files)
        rows.append((
            written.export_folder.name + "/",
            f"that zip unpacked: {tables} CSV file{'' if tables == 1 else 's'}, "
            + ", ".join(written.csv_files),
        ))  # fmt: skip
    width = max(len(name) for name, _ in rows) + 2
    return [f"{name:<{width}}{what}" for name, what in rows]
