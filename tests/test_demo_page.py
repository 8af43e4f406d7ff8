"""`python -m bot demo --weeks 8` (issue 22, item 6): a story that keeps moving for its eight
weeks, and a page that reads without an emoji font and at a phone's width.

The demo runs once, through the command a newcomer types, in a child process. Its transcript
says what each engagement's updates said week by week: no week repeats the one four weeks
before it, and nothing cleared (a blocker, a concern) comes back. Its page is then loaded in
headless Chromium, at 412 and 1400 CSS pixels wide, with a probe that measures it: no emoji
left for a font to draw, the marks drawn as SVG, the main column wide enough and no paragraph
squeezed to a word or two a line; the screenshots are kept beside the page."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from browser import browse
from PIL import Image

from bot.demo import script

# Runs the demo in a process and its page in Chromium; one worker runs both demo files.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo")]

ROOT = Path(__file__).resolve().parent.parent
WEEKS = 8
DEMO_TIMEOUT_S = (
    300  # eight simulated weeks take well under half a minute; a busy machine is slower
)
HEAD = re.compile(r"^\*\*(\w{3} \d\d \w{3}) \d\d:\d\d · ([^*]+)\*\*(.*)$")
UPDATE = re.compile(r"^> \S+ \*\*(.+?)\*\* — status update from ")
CONCERN = re.compile(r"^> \S+ \*\*#(\d+) (.+?)\*\* · (?:critical|high|medium|low) · ")
DATES = re.compile(r"\b\w{3} \d\d \w{3}(?: \d{4})?(?: \d\d:\d\d)?(?: CET)?")
ENGAGEMENTS = {
    "#payments-platform": (script.PAYMENTS_NAME, range(1, WEEKS + 1)),
    "#data-warehouse": (script.WAREHOUSE_NAME, range(1, WEEKS + 1)),
    "#mobile-app": (script.MOBILE_NAME, range(5, WEEKS + 1)),  # Umbrella answers from week 5
}
STAKEHOLDERS = ("Sam Ortiz", "Priya Nair", "Kai Berg")


@dataclass(frozen=True)
class Demo:
    folder: Path
    stdout: str

    def section(self, title: str) -> list[str]:
        """One channel's or one DM's part of the transcript, as lines."""
        text = (self.folder / "transcript.md").read_text(encoding="utf-8")
        found = [p for p in re.split(r"(?m)^## ", text) if p.startswith(title + "\n")]
        assert found, f"no section {title!r} in the transcript"
        return found[0].splitlines()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    folder = tmp_path_factory.mktemp("demo8") / "out"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--weeks", str(WEEKS), "--out", str(folder)],
        cwd=tmp_path_factory.mktemp("cwd"),  # nothing of the checkout's .env or database
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return Demo(folder, done.stdout)


# --- the story ---------------------------------------------------------------------------------


def week_of(day_and_month: str) -> int:
    """The story's week a transcript heading's "Mon 28 Dec" falls in (its year is the one that
    puts it inside the story)."""
    first = script.week_start(1).date()
    for year in (first.year, first.year + 1):
        day = datetime.strptime(f"{day_and_month} {year}", "%a %d %b %Y").date()
        if script.SET_UP_ON.date() <= day <= script.end_of(WEEKS).date():
            return (day - first).days // 7 + 1
    raise AssertionError(f"{day_and_month} is not in the story")


def messages(lines: list[str]) -> list[tuple[str, str, list[str]]]:
    """Each message of a section: its heading's day, the rest of its heading, its quoted lines."""
    found: list[tuple[str, str, list[str]]] = []
    for line in lines:
        if m := HEAD.match(line):
            found.append((m.group(1), m.group(2) + m.group(3), []))
        elif line.startswith("> ") and found:
            found[-1][2].append(line.rstrip())
    return found


def updates_by_week(demo: Demo, channel: str) -> dict[int, list[str]]:
    """Each week's status update posted in `channel` (not its edits), as its quoted lines."""
    by_week: dict[int, list[str]] = {}
    for day, heading, body in messages(demo.section(channel)):
        if body and UPDATE.match(body[0]) and "edited its message" not in heading:
            week = week_of(day)
            assert week not in by_week, f"two status updates in week {week} in {channel}"
            by_week[week] = body
    return by_week


def blockers(update: list[str]) -> set[str]:
    """The blockers an update lists (without Cadence's "since …" and "open since …")."""
    listed: set[str] = set()
    inside = False
    for line in update:
        text = line[2:].strip()
        if text.startswith("**"):
            inside = text == "**Blockers**"
        elif inside and text.startswith("• "):
            listed.add(re.split(r" _\(since | — ", text[2:])[0])
    return listed


def test_every_week_of_eight_says_something_new(demo: Demo):
    for channel, (name, weeks) in ENGAGEMENTS.items():
        updates = updates_by_week(demo, channel)
        assert sorted(updates) == list(weeks), f"{name}: updates in weeks {sorted(updates)}"
        words = {week: DATES.sub("<date>", "\n".join(body)) for week, body in updates.items()}
        for week in weeks:
            if week + 4 in words:
                assert words[week + 4] != words[week], f"{name}: week {week + 4} repeats {week}"
        summaries = [body[body.index("> **Progress summary**") + 1] for body in updates.values()]
        assert len(set(summaries)) == len(summaries), f"{name}: a summary said twice"

    # Each stakeholder's survey answers: eight, none the same as four weeks before.
    for person in STAKEHOLDERS:
        sent = [
            body
            for _day, heading, body in messages(demo.section(f"{person} · DM with Cadence"))
            if "sent the form **Feedback**" in heading
        ]
        assert len(sent) == WEEKS, person
        for week in range(WEEKS - 4):
            assert sent[week + 4] != sent[week], f"{person}: week {week + 5} answers as {week + 1}"


def test_nothing_cleared_comes_back(demo: Demo):
    for channel, (name, _weeks) in ENGAGEMENTS.items():
        updates = updates_by_week(demo, channel)
        cleared: set[str] = set()
        before: set[str] = set()
        for week in sorted(updates):
            now = blockers(updates[week])
            assert not now & cleared, f"{name}: week {week} raises cleared {now & cleared}"
            cleared |= before - now
            before = now
        if name != script.MOBILE_NAME:  # Umbrella's one blocker is still open at the end
            assert cleared, f"{name}: no blocker was ever cleared"

    # A concern is raised once: no title under two numbers, across every channel.
    numbers: dict[str, set[str]] = {}
    for channel in (*ENGAGEMENTS, "#exec-digest"):
        for _day, _heading, body in messages(demo.section(channel)):
            if body and (m := CONCERN.match(body[0])):
                numbers.setdefault(m.group(2), set()).add(m.group(1))
    assert len(numbers) >= 6, numbers
    twice = {title: n for title, n in numbers.items() if len(n) > 1}
    assert not twice, twice

    # The concern escalated in week 1 is acknowledged, then settled; every concern is closed.
    mobile = "\n".join(demo.section("#mobile-app"))
    assert "**@Mia Chen** acknowledged it" in mobile
    assert "**@Omar Haddad** resolved it: Release 4.2.1 fixed" in mobile
    assert "6 concerns: 6 resolved, 0 acknowledged, 0 not acknowledged;" in demo.stdout
    assert "3 deliverables: 3 accepted" in demo.stdout


# --- the page, in a real browser ---------------------------------------------------------------

PROBE = """<script>
window.addEventListener("load", () => {
  const EMOJI = /[\\u{1F000}-\\u{1FAFF}\\u{2600}-\\u{27BF}\\u{2B00}-\\u{2BFF}\\u{23E9}-\\u{23FA}\\u{21A9}\\u{21AA}\\u{2139}]/u;
  const bare = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest("script") && EMOJI.test(node.data)) bare.push(node.data);
  }
  const drawn = {};
  for (const svg of document.querySelectorAll("main svg.mark")) {
    const use = svg.querySelector("use");
    const symbol = use && document.querySelector(use.getAttribute("href"));
    const box = svg.getBoundingClientRect();
    if (symbol && symbol.tagName === "symbol" && symbol.children.length && box.width >= 8
        && svg.getAttribute("aria-label")) {
      drawn[svg.getAttribute("aria-label")] = (drawn[svg.getAttribute("aria-label")] || 0) + 1;
    }
  }
  const squeezed = [];
  let measured = 0;
  const chosen = "main .text, main .context, main .modal dd, header.intro p, header.intro li";
  for (const el of document.querySelectorAll(chosen)) {
    const words = el.textContent.trim().split(/\\s+/).length;
    if (words < 6 || el.querySelector("br") || el.textContent.includes("\\n")) continue;
    const lines = Math.round(el.getBoundingClientRect().height
                             / parseFloat(getComputedStyle(el).lineHeight));
    measured += 1;
    if (words / Math.max(lines, 1) < 2.5) squeezed.push(`${words} words in ${lines} lines: `
                                                        + el.textContent.slice(0, 60));
  }
  const box = (el) => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width}; };
  document.body.setAttribute("data-probe", JSON.stringify({
    viewport: document.documentElement.clientWidth, bare: bare.slice(0, 10), drawn, squeezed: squeezed.slice(0, 10), measured,
    main: box(document.querySelector("main")), nav: box(document.querySelector("nav")),
    column: box(document.querySelector("main .msg .content")),
  }));
});
</script>"""
PURPLE = (0x3F, 0x0E, 0x40)  # the sidebar's colour
WHITE = (0xFF, 0xFF, 0xFF)


FRAME = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="page" style="border:0;width:{width}px;height:1000px" srcdoc="{page}"></iframe>
<script>
const copied = setInterval(() => {{
  const measured = document.getElementById("page").contentDocument?.body?.dataset.probe;
  if (measured) {{ document.body.setAttribute("data-probe", measured); clearInterval(copied); }}
}}, 100);
</script></body></html>"""


def probed(demo: Demo, width: int) -> dict:
    """The page measured by PROBE in a viewport `width` CSS pixels wide: in a frame of that
    width, since headless Chromium's window is never narrower than 500 pixels (a screenshot's
    is; the page's media queries follow the frame's width as they would a phone's)."""
    page = (demo.folder / "index.html").read_text(encoding="utf-8")
    with_probe = page.replace("</body>", PROBE + "</body>")
    probe = demo.folder / f"probe-{width}.html"
    probe.write_text(FRAME.format(width=width, page=html.escape(with_probe)), encoding="utf-8")
    dumped = browse(probe, (1400, 1000), "--virtual-time-budget=15000", "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    found = re.search(r'data-probe="([^"]*)"', dumped.stdout)
    assert found, dumped.stdout[:500]
    measured = json.loads(html.unescape(found.group(1)))
    assert measured["viewport"] == width, measured["viewport"]
    return measured


# The digest channel alone, its charts hidden: what is left to paint colour is the page's marks.
DIGEST_ONLY = (
    "<style>header.intro, section.conversation:not(#c-C0EXECDIGE), figure { display: none; }"
    "</style></head>"
)
SHOT_HEIGHT = 1600
MARK_COLOURS = {"green": (0x2E, 0xB6, 0x7D), "amber": (0xE8, 0x91, 0x2D), "red": (0xD0, 0x32, 0x3C)}


def screenshot(demo: Demo, width: int, *, digest_only: bool = False) -> Image.Image:
    """The page (or its digest channel alone) as Chromium paints it, `width` pixels wide; the
    PNG is kept beside the page, to be looked at."""
    page = demo.folder / "index.html"
    name = f"screenshot-{width}.png"
    if digest_only:
        name = f"screenshot-digest-{width}.png"
        page = demo.folder / f"digest-only-{width}.html"
        text = (demo.folder / "index.html").read_text(encoding="utf-8")
        page.write_text(text.replace("</head>", DIGEST_ONLY, 1), encoding="utf-8")
    shot = demo.folder / name
    taken = browse(page, (width, SHOT_HEIGHT), f"--screenshot={shot}")
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (width, SHOT_HEIGHT)
    return image


@pytest.mark.parametrize("width", [412, 1400])
def test_the_page_draws_its_own_marks_with_no_emoji_left_for_a_font(demo: Demo, width: int):
    seen = probed(demo, width)
    assert seen["bare"] == [], seen["bare"]  # nothing for an emoji font (or its empty box)
    drawn = seen["drawn"]
    for rag in ("green", "amber", "red"):  # the RAG of updates, digests and the trend
        assert drawn.get(rag, 0) >= 10, drawn
    for other in ("critical", "done", "missed", "warning", "requested", "check-in"):
        assert drawn.get(other, 0) >= 1, drawn
    # Every mark in the page is drawn: its symbol defined, and given room on the line.
    marks = (demo.folder / "index.html").read_text(encoding="utf-8").count('<svg class="mark ')
    assert marks >= 300 and sum(drawn.values()) == marks, (marks, drawn)

    # And painted: the digests' RAG marks in their colours, with no emoji font installed.
    image = screenshot(demo, width, digest_only=True)
    painted = {name: 0 for name in MARK_COLOURS}
    for count, colour in image.getcolors(maxcolors=width * SHOT_HEIGHT) or []:
        for name, wanted in MARK_COLOURS.items():
            if colour == wanted:
                painted[name] += count
    assert all(n >= 50 for n in painted.values()), painted


def test_at_phone_width_the_sidebar_is_on_top_and_the_column_reads(demo: Demo):
    seen = probed(demo, 412)
    nav, main, column = seen["nav"], seen["main"], seen["column"]
    assert nav["bottom"] <= main["top"] + 1 and main["left"] <= 1, (nav, main)
    assert main["width"] >= 400 and column["width"] >= 300, (main, column)
    assert seen["measured"] >= 100 and seen["squeezed"] == [], seen["squeezed"]

    image = screenshot(demo, 412)
    assert image.getpixel((405, 5)) == PURPLE  # the sidebar spans the top, edge to edge
    assert image.getpixel((405, 600)) == WHITE  # and the page's column is below it


def test_at_desktop_width_the_sidebar_stays_beside_the_column(demo: Demo):
    seen = probed(demo, 1400)
    nav, main = seen["nav"], seen["main"]
    assert nav["width"] == 260 and nav["right"] <= main["left"], (nav, main)
    assert main["width"] >= 1000 and seen["squeezed"] == [], seen["squeezed"]

    image = screenshot(demo, 1400)
    assert image.getpixel((100, 900)) == PURPLE and image.getpixel((1300, 5)) == WHITE


def test_the_digest_shows_the_second_month_turn(demo: Demo):
    """Where an executive looks: the first digest has a red and a missed update, the last all
    green, with Umbrella's month of silence and its recovery in its weeks."""
    digests = "\n".join(demo.section("#exec-digest")).split("**Cadence weekly digest**")[1:]
    assert len(digests) == WEEKS
    first, last = digests[0], digests[-1]
    assert "🔴 1 red" in first and "❌ 1 missed their update" in first
    assert "🔴 0 red · 🟠 0 amber · 🟢 3 green" in last and "missed their update" not in last
    assert "Weeks (oldest first): `✗✗✗✗RAGG`" in last
