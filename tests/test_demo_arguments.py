"""The demo's arguments (issue 22, item 6): a bad `--weeks` or `--out` is one line before the
run (not four weeks played silently, nor a traceback after a whole run), `.gitignore` lists the
folder it writes by default, and it says plainly what each file it wrote is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.demo import DEFAULT_OUT, EXIT_ARGUMENTS
from bot.demo.outputs import Written, describe
from bot.entry.cli import main

ROOT = Path(__file__).resolve().parents[1]


def refused(capsys, *args: str) -> str:
    """The one line `python -m bot demo ARGS` answers with, having played nothing."""
    assert main(["demo", *args]) == EXIT_ARGUMENTS
    said = capsys.readouterr()
    assert said.out == ""  # no progress, no summary: nothing was played
    lines = said.err.splitlines()
    assert len(lines) == 1, said.err
    return lines[0]


@pytest.mark.parametrize("weeks", ["0", "9", "-1", "two", "1.5", ""])
def test_a_number_of_weeks_out_of_range_is_refused_in_one_line(weeks, capsys, tmp_path):
    line = refused(capsys, "--weeks", weeks, "--out", str(tmp_path / "out"))
    assert line == f"--weeks must be a whole number of weeks from 1 to 8, not {weeks!r}"
    assert not (tmp_path / "out").exists()  # checked before anything was made


def test_an_out_that_is_a_file_is_refused_in_one_line(capsys, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine", encoding="utf-8")
    line = refused(capsys, "--out", str(a_file))
    assert line == f"--out {a_file} is a file: name a folder (it is created if missing)"
    assert a_file.read_text(encoding="utf-8") == "mine"
    below = refused(capsys, "--out", str(a_file / "demo"))  # a folder inside a file
    assert below.startswith(f"--out {a_file / 'demo'}: the folder cannot be created (")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_folder_nothing_can_be_written_to_is_refused_in_one_line(capsys):
    # /proc refuses new files to every user, root included (a chmod would not stop root).
    line = refused(capsys, "--out", "/proc")
    assert line.startswith("--out /proc: nothing can be written there (")


def test_gitignore_lists_the_folder_the_demo_writes_by_default():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert f"{DEFAULT_OUT}/" in ignored
    checked = subprocess.run(
        ["git", "check-ignore", "-q", f"{DEFAULT_OUT}/index.html"], cwd=ROOT, check=False
    )
    assert checked.returncode == 0, "git would offer the demo's output for a commit"


def test_the_files_written_are_each_named_with_what_they_are(tmp_path):
    charts = [tmp_path / "digest-chart-2026-11-27.png", tmp_path / "digest-chart-2026-12-04.png"]
    written = Written(
        folder=tmp_path,
        transcript=tmp_path / "transcript.md",
        page=tmp_path / "index.html",
        chart=tmp_path / "digest-chart.png",
        charts=charts,
        export_zip=tmp_path / "cadence-payments-platform.zip",
        export_folder=tmp_path / "export",
        csv_files=["concerns.csv", "updates.csv"],
    )
    lines = describe(written)
    assert [line.split()[0] for line in lines] == [
        "index.html",
        "transcript.md",
        "digest-chart-2026-11-27.png",
        "digest-chart-2026-12-04.png",
        "digest-chart.png",
        "cadence-payments-platform.zip",
        "export/",
    ]
    assert lines[2].endswith("the chart posted with the digest of Fri 27 Nov")
    assert lines[4].endswith("a copy of the latest chart (Fri 4 Dec)")
    assert lines[6].endswith("that zip unpacked: 2 CSV files, concerns.csv, updates.csv")
    starts = {len(line) - len(line.split(maxsplit=1)[1]) for line in lines}
    assert len(starts) == 1  # the words in one column
    assert "dated" not in "\n".join(lines)


@pytest.mark.slow
def test_a_one_week_demo_names_every_file_it_wrote(tmp_path):
    folder = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--weeks", "1", "--out", str(folder)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    listed = done.stdout.split(f"Written to {folder}/:\n", 1)[1].splitlines()
    names = [line.split()[0] for line in listed]
    on_disk = [p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()]
    assert sorted(names) == sorted(on_disk)
