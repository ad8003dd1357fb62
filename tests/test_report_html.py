"""The HTML report, as a person sees it: a blind batch with a judge and
people's votes, ``compare --report out.html`` and ``:scores --html``, then
the page rendered by a real headless browser (Chromium): the DOM it built
(the chart, the tables, every prompt with its replies, model text escaped,
nothing fetched) and a screenshot (the chart's colours are on screen).

Needs the Debian package ``chromium``; without it the rendering tests skip,
saying so."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from fakeserver import FakeServer, Reply
from test_compare_judge import PROMPTS, _replies, fair

from copilot_repl.history.blinds import BlindStore
from copilot_repl.repl.report import report_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (Debian package chromium): the HTML report is not rendered",
)
HOSTILE = "<script>window.hacked=1</script><img src=x onerror=alert(1)> & </pre>"
BLUE, ORANGE = (0x1F, 0x5F, 0xBF), (0xC0, 0x56, 0x21)  # people's and the judge's chart


def _batch(server: FakeServer, tmp_path: Path, *extra: str) -> Any:
    prompts = tmp_path / "p.txt"
    prompts.write_text(PROMPTS)
    args = ["--base-url", server.url, "compare", "--blind", "--models", "good,poor"]
    return run_cli([*args, "--prompts", str(prompts), "--judge", "fair", "--name", "rep", *extra])


def _voted_run(server: FakeServer, tmp_path: Path, home: Path) -> None:
    _replies(server)
    server.responders["poor"] = lambda body: Reply(text="poor: " + HOSTILE)
    server.responders["fair"] = fair
    assert _batch(server, tmp_path).code == 0
    for p in BlindStore(home).pending("rep")[:3]:
        label = next(lab for lab, s in p.labels.items() if s.model == "openai:good")
        assert run_cli(["--base-url", server.url, "vote", p.name, label]).code == 0


def _browser(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    cmd += ["--disable-background-networking", "--user-data-dir=" + str(_profile), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


_profile = Path("/tmp")  # set per test


class Dom(HTMLParser):
    """Elements as (tag, attributes, text inside)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self._open: list[tuple[str, dict[str, str], list[str]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = (tag, {k: v or "" for k, v in attrs}, [])
        self.elements.append(el)
        if tag not in ("img", "br", "meta", "line", "circle", "rect", "input", "link"):
            self._open.append(el)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for el in self._open:
            el[2].append(data)

    def find(self, tag: str, cls: str = "") -> list[tuple[str, dict[str, str], list[str]]]:
        return [
            e
            for e in self.elements
            if e[0] == tag and (not cls or cls in e[1].get("class", "").split())
        ]


def png_pixels(data: bytes, rows: int) -> tuple[int, int, list[bytes], int]:
    """Width, height, the first ``rows`` rows decoded, bytes per pixel."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = ctype = 0
    while pos < len(data):
        n = int.from_bytes(data[pos : pos + 4], "big")
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and body[12] == 0
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    bpp = {2: 3, 6: 4}[ctype]
    stride = width * bpp
    prev = bytearray(stride)
    out = []
    for y in range(min(rows, height)):
        f, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append(bytes(line))
        prev = line
    return width, height, out, bpp


def _count(rows: list[bytes], bpp: int, colour: tuple[int, int, int]) -> int:
    n = 0
    for row in rows:
        for x in range(0, len(row), bpp):
            if all(abs(row[x + k] - colour[k]) <= 12 for k in range(3)):
                n += 1
    return n


@needs_chromium
def test_the_report_renders_in_a_browser(server: FakeServer, tmp_path: Path, home: Path) -> None:
    global _profile
    _profile = tmp_path / "chromium"
    _voted_run(server, tmp_path, home)
    out = tmp_path / "out.html"
    r = _batch(server, tmp_path, "--report", str(out))  # resumed: nothing asked again
    assert r.code == 0, r.err
    page = out.read_text()
    assert "<script>" not in page and "&lt;script&gt;window.hacked=1" in page
    dumped = _browser("--dump-dom", out.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = Dom(dumped.stdout)
    # nothing runs, nothing is fetched
    assert dom.find("script") == [] and dom.find("img") == []
    assert not any(a.get("src") or a.get("href") for _, a, _ in dom.elements)
    # the chart: one per kind of voter, a row per model, best first
    charts = dom.find("svg", "ratings")
    assert [c[1]["class"] for c in charts] == ["ratings human", "ratings judge"]
    rows = dom.find("g", "model")
    rated = [(a["data-model"], int(a["data-rating"])) for _, a, _ in rows if "data-rating" in a]
    assert [m for m, _ in rated] == ["openai:good", "openai:poor"] * 2
    assert rated[0][1] > 1000 > rated[1][1]
    assert len(dom.find("line", "ci")) == 4 and len(dom.find("circle", "rating")) == 4
    agreement = "".join(dom.find("p", "agreement")[0][2])
    assert "agree on 3 of 3 pairs (100%)" in agreement
    # wins, losses, ties per pair; per tag; timing per model
    pairs = ["".join(e[2]) for e in dom.find("table", "pairs")]
    assert len(pairs) == 2 and "openai:good" in pairs[0]
    assert {e[1]["data-tag"] for e in dom.find("table", "bytag")} == {"code", "prose"}
    metrics = {e[1]["data-metric"] for e in dom.find("svg", "distribution")}
    assert {"ttft_s", "total_s"} <= metrics
    # every prompt, the replies side by side, model text shown as text
    prompts = dom.find("section", "prompt")
    assert len(prompts) == 4
    replies = dom.find("div", "reply")
    assert len(replies) == 8
    shown = "".join(t for e in replies for t in e[2])
    assert HOSTILE in shown  # as the model wrote it, as text
    # what a person sees: the chart's colours are drawn
    shot = tmp_path / "shot.png"
    r2 = _browser("--screenshot=" + str(shot), "--window-size=1000,700", out.as_uri())
    assert r2.returncode == 0 and shot.exists(), r2.stderr[-2000:]
    width, height, top, bpp = png_pixels(shot.read_bytes(), 700)
    assert (width, height) == (1000, 700)
    assert _count(top, bpp, BLUE) > 100  # people's intervals and dots
    assert _count(top, bpp, ORANGE) > 100  # the judge's


@needs_chromium
def test_scores_html_from_the_shell(server: FakeServer, tmp_path: Path, home: Path) -> None:
    global _profile
    _profile = tmp_path / "chromium"
    _voted_run(server, tmp_path, home)
    out = tmp_path / "scores.html"
    r = run_cli([], stdin=f":scores --html {out}\n")
    assert r.code == 0 and "report written to" in r.err, r.err
    dom = Dom(_browser("--dump-dom", out.as_uri()).stdout)
    assert len(dom.find("svg", "ratings")) == 2 and len(dom.find("section", "prompt")) == 4


def test_no_votes_no_runs_is_still_a_page() -> None:
    page = report_html([], [])
    assert page.startswith("<!DOCTYPE html>") and "No votes yet." in page
