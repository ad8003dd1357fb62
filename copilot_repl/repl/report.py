"""The comparison as one HTML page people look at (``compare --report
out.html``, ``:scores --html FILE``): self-contained (inline CSS and SVG, no
script, nothing fetched), every piece of model or prompt text escaped.

Sections: the ratings with their 95 % intervals as a chart (people's votes,
and a judge's when there are some, with how often they agree), wins, losses
and ties per pair of models, the ratings per tag, time to first token, total
time and tokens per second per model (a box per model: quartiles, median,
whiskers to the extremes), then every prompt with the replies side by side.

Pure: votes and runs in, text out. The element classes (``svg.ratings``,
``g.model``, ``table.pairs``, ``section.prompt``...) are what the browser test
looks for.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from html import escape
from itertools import combinations
from typing import TYPE_CHECKING

from copilot_repl.repl.judge import agreement
from copilot_repl.repl.ratings import Match, Rating, rate
from copilot_repl.repl.wording import figures_line

if TYPE_CHECKING:
    from copilot_repl.history.comparisons import Plan, Result
    from copilot_repl.history.votes import Vote

Run = tuple["Plan", Sequence["Result"]]

CSS = """
body{font:15px/1.45 system-ui,sans-serif;color:#1d232a;max-width:72em;margin:auto;
 padding:1em 1.5em}
h1{font-size:1.6em;margin:.2em 0}
h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #d5dae0}
h3{font-size:1.05em} .meta{color:#5a6470}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #d5dae0;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f1f3f6} td.num{text-align:right;font-variant-numeric:tabular-nums}
svg text{font:12px system-ui,sans-serif;fill:#1d232a} svg .axis{stroke:#9aa4af}
svg .grid{stroke:#eceff3} svg .ci{stroke:#1f5fbf;stroke-width:3} svg .rating{fill:#1f5fbf}
svg.judge .ci{stroke:#c05621} svg.judge .rating{fill:#c05621}
svg .box{fill:#cfe0f7;stroke:#1f5fbf} svg .median{stroke:#0b2e63;stroke-width:2}
svg .whisker{stroke:#5a6470}
.replies{display:grid;grid-template-columns:repeat(var(--n),minmax(0,1fr));gap:.8em}
.reply{border:1px solid #d5dae0;border-radius:4px;padding:.5em .7em;background:#fbfcfd;
 overflow:auto}
.reply h4{margin:0 0 .3em;font-size:.95em}
.reply pre{white-space:pre-wrap;word-break:break-word;margin:0;
 font:13px/1.4 ui-monospace,monospace}
.prompt-text{white-space:pre-wrap;background:#f1f3f6;padding:.5em .7em;
 border-left:3px solid #1f5fbf}
.figures{color:#5a6470;font-size:.85em;margin-top:.4em}
.tag{display:inline-block;background:#e8eef7;border-radius:3px;padding:0 .4em;font-size:.85em}
.votes{font-size:.9em;color:#3a434d}
"""


def report_html(votes: Sequence[Vote], runs: Sequence[Run] = (), *, title: str = "") -> str:
    """The whole page."""
    people = [v for v in votes if v.by == "human"]
    judges = [v for v in votes if v.by != "human"]
    name = title or (runs[0][0].name if runs else "votes")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Comparison {escape(name)}</title><style>{CSS}</style></head><body>",
        f"<h1>Comparison {escape(name)}</h1>",
        '<p class="meta">'
        + escape(
            f"{len(people)} votes by people, {len(judges)} by a judge model; "
            f"written {time.strftime('%Y-%m-%d %H:%M')} by copilot-repl"
        )
        + "</p>",
    ]
    parts += _ratings_section(people, judges)
    parts += _pairs_section(people, judges)
    parts += _tags_section(people)
    if runs:
        parts += _timing_section(runs)
        parts += _prompts_section(runs, votes)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# -- ratings -------------------------------------------------------------------
def _rated(votes: Sequence[Vote]) -> list[Rating]:
    return rate([Match(v.contestants, v.winner, v.verdict == "bad") for v in votes])


def _ratings_section(people: Sequence[Vote], judges: Sequence[Vote]) -> list[str]:
    out = ['<section id="ratings"><h2>Ratings</h2>']
    out.append(
        '<p class="meta">Bradley–Terry fitted to every vote, on the Elo scale (mean 1000; '
        "400 points = 10:1 odds); the bar is the 95 % interval.</p>"
    )
    shown = False
    for who, votes, css in (("people", people, "human"), ("a judge model", judges, "judge")):
        ratings = _rated(votes)
        if not ratings:
            continue
        shown = True
        out.append(f"<h3>Votes by {who} ({len(votes)})</h3>")
        out.append(ratings_svg(ratings, css))
        out.append(_ratings_table(ratings, css))
    if judges and people:
        agreed, compared = agreement([*people, *judges])
        if compared:
            out.append(
                f'<p class="agreement">The judge and people agree on {agreed} of {compared} '
                f"pairs ({agreed / compared:.0%}).</p>"
            )
    if not shown:
        out.append("<p>No votes yet.</p>")
    out.append("</section>")
    return out


def ratings_svg(ratings: Sequence[Rating], css: str = "human") -> str:
    """A forest plot: one row per model, the interval as a bar, the rating
    as a dot, on a shared axis with grid lines."""
    left, width, row, top = 230, 420, 30, 10
    lo = min(r.low for r in ratings)
    hi = max(r.high for r in ratings)
    step = _nice_step(hi - lo)
    lo, hi = step * (lo // step), step * (hi // step + 1)
    height = top + row * len(ratings) + 30

    def x(value: float) -> float:
        return left + (value - lo) / (hi - lo) * width

    label = "; ".join(f"{r.name}: {r.rating:.0f} ({r.low:.0f}–{r.high:.0f})" for r in ratings)
    out = [
        f'<svg class="ratings {css}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{left + width + 20}" height="{height}" aria-label="{escape(label)}">'
    ]
    axis_y = top + row * len(ratings) + 4
    tick = lo
    while tick <= hi + 1e-9:
        out.append(
            f'<line class="grid" x1="{x(tick):.1f}" y1="{top}" x2="{x(tick):.1f}" y2="{axis_y}"/>'
            f'<text x="{x(tick):.1f}" y="{axis_y + 16}" text-anchor="middle">{tick:.0f}</text>'
        )
        tick += step
    out.append(f'<line class="axis" x1="{left}" y1="{axis_y}" x2="{left + width}" y2="{axis_y}"/>')
    for k, r in enumerate(ratings):
        y = top + row * k + row / 2
        out.append(
            f'<g class="model" data-model="{escape(r.name)}" data-rating="{r.rating:.0f}">'
            f'<text x="{left - 10}" y="{y + 4:.1f}" text-anchor="end">{escape(_short(r.name))}'
            f"</text>"
            f'<line class="ci" x1="{x(r.low):.1f}" y1="{y:.1f}" x2="{x(r.high):.1f}" y2="{y:.1f}"/>'
            f'<circle class="rating" cx="{x(r.rating):.1f}" cy="{y:.1f}" r="6"/>'
            f"<title>{escape(r.name)}: {r.rating:.0f} ({r.low:.0f}–{r.high:.0f})</title></g>"
        )
    out.append("</svg>")
    return "".join(out)


def _nice_step(span: float) -> float:
    for step in (10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if span / step <= 8:
            return float(step)
    return 2000.0


def _short(name: str, size: int = 32) -> str:
    return name if len(name) <= size else name[: size - 1] + "…"


def _ratings_table(ratings: Sequence[Rating], css: str, extra: str = "") -> str:
    rows = "".join(
        f"<tr><td>{escape(r.name)}</td><td class='num'>{r.rating:.0f}</td>"
        f"<td class='num'>{r.low:.0f}–{r.high:.0f}</td><td class='num'>{r.votes}</td>"
        f"<td class='num'>{r.wins}</td><td class='num'>{r.losses}</td>"
        f"<td class='num'>{r.ties + r.bad}</td></tr>"
        for r in ratings
    )
    head = "<tr><th>model</th><th>rating</th><th>95 % interval</th><th>votes</th>"
    head += "<th>won</th><th>lost</th><th>tied</th></tr>"
    return f'<table class="scores {css}"{extra}>{head}{rows}</table>'


# -- pairs and tags ------------------------------------------------------------
def _pairs_section(people: Sequence[Vote], judges: Sequence[Vote]) -> list[str]:
    out = ['<section id="pairs"><h2>Wins, losses and ties per pair</h2>']
    for who, votes in (("people", people), ("a judge model", judges)):
        table = pair_counts(votes)
        if not table:
            continue
        out.append(f"<h3>Votes by {who}</h3>")
        head = "<tr><th>model</th><th>against</th><th>won</th><th>lost</th><th>tied</th>"
        head += "<th>both bad</th></tr>"
        rows = "".join(
            f"<tr><td>{escape(x)}</td><td>{escape(y)}</td><td class='num'>{c[0]}</td>"
            f"<td class='num'>{c[1]}</td><td class='num'>{c[2]}</td><td class='num'>{c[3]}</td>"
            "</tr>"
            for (x, y), c in sorted(table.items())
        )
        out.append(f'<table class="pairs">{head}{rows}</table>')
    out.append("</section>")
    return out


def pair_counts(votes: Sequence[Vote]) -> dict[tuple[str, str], list[int]]:
    """``(x, y) -> [x won, y won, tie, both bad]`` with x before y by name."""
    table: dict[tuple[str, str], list[int]] = {}
    for v in votes:
        for x, y in combinations(sorted(set(v.contestants)), 2):
            row = table.setdefault((x, y), [0, 0, 0, 0])
            if v.verdict == "bad":
                row[3] += 1
            elif v.winner == x:
                row[0] += 1
            elif v.winner == y:
                row[1] += 1
            elif v.winner is None:
                row[2] += 1
    return table


def _tags_section(people: Sequence[Vote]) -> list[str]:
    tags = sorted({v.tag for v in people if v.tag})
    if not tags:
        return []
    out = ['<section id="tags"><h2>Per tag</h2>']
    for tag in tags:
        mine = [v for v in people if v.tag == tag]
        out.append(f'<h3>Tag <span class="tag">{escape(tag)}</span> ({len(mine)} votes)</h3>')
        out.append(_ratings_table(_rated(mine), "bytag", f' data-tag="{escape(tag)}"'))
    out.append("</section>")
    return out


# -- timing --------------------------------------------------------------------
METRICS: list[tuple[str, str, str]] = [
    ("ttft_s", "Time to first token", "s"),
    ("total_s", "Total time", "s"),
    ("tok_s", "Tokens per second", "tok/s"),
]


def _timing_section(runs: Sequence[Run]) -> list[str]:
    by_model: dict[str, list[Result]] = {}
    for _, results in runs:
        for r in results:
            if r.ok:
                by_model.setdefault(r.model, []).append(r)
    if not by_model:
        return []
    out = ['<section id="timing"><h2>Latency and speed per model</h2>']
    out.append(
        '<p class="meta">Each box: the middle half of the replies, the line in it the median, '
        "the whiskers the fastest and the slowest. Speed counts replies of 16 tokens or more.</p>"
    )
    for key, what, unit in METRICS:
        values = {
            m: [float(r.figures[key]) for r in rs if isinstance(r.figures.get(key), int | float)]
            for m, rs in sorted(by_model.items())
        }
        values = {m: v for m, v in values.items() if v}
        if not values:
            continue
        out.append(f"<h3>{escape(what)} ({escape(unit)})</h3>")
        out.append(box_svg(values, key))
        out.append(_stats_table(values, unit, key))
    out.append("</section>")
    return out


def _quartiles(xs: Sequence[float]) -> tuple[float, float, float, float, float]:
    s = sorted(xs)
    if len(s) == 1:
        return s[0], s[0], s[0], s[0], s[0]
    q = statistics.quantiles(s, n=4, method="inclusive")
    return s[0], q[0], q[1], q[2], s[-1]


def box_svg(values: dict[str, list[float]], key: str) -> str:
    left, width, row, top = 230, 420, 28, 8
    hi = max(max(v) for v in values.values()) or 1.0
    height = top + row * len(values) + 26

    def x(value: float) -> float:
        return left + value / hi * width

    out = [
        f'<svg class="distribution" data-metric="{escape(key)}" xmlns="http://www.w3.org/2000/svg" '
        f'role="img" width="{left + width + 20}" height="{height}">'
    ]
    axis_y = top + row * len(values) + 2
    for k in range(5):
        v = hi * k / 4
        out.append(
            f'<line class="grid" x1="{x(v):.1f}" y1="{top}" x2="{x(v):.1f}" y2="{axis_y}"/>'
            f'<text x="{x(v):.1f}" y="{axis_y + 15}" text-anchor="middle">{_fmt(v)}</text>'
        )
    for k, (model, xs) in enumerate(values.items()):
        y = top + row * k + row / 2
        lo, q1, med, q3, top_v = _quartiles(xs)
        out.append(
            f'<g class="model" data-model="{escape(model)}">'
            f'<text x="{left - 10}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_short(model))}</text>"
            f'<line class="whisker" x1="{x(lo):.1f}" y1="{y:.1f}" x2="{x(top_v):.1f}" '
            f'y2="{y:.1f}"/>'
            f'<rect class="box" x="{x(q1):.1f}" y="{y - 8:.1f}" '
            f'width="{max(x(q3) - x(q1), 1.5):.1f}" height="16"/>'
            f'<line class="median" x1="{x(med):.1f}" y1="{y - 8:.1f}" x2="{x(med):.1f}" '
            f'y2="{y + 8:.1f}"/><title>{escape(model)}: median {_fmt(med)}</title></g>'
        )
    out.append("</svg>")
    return "".join(out)


def _fmt(v: float) -> str:
    return f"{v:.2f}" if v < 10 else f"{v:.0f}"


def _stats_table(values: dict[str, list[float]], unit: str, key: str) -> str:
    head = "<tr><th>model</th><th>replies</th><th>min</th><th>median</th><th>max</th></tr>"
    rows = "".join(
        f"<tr><td>{escape(m)}</td><td class='num'>{len(xs)}</td>"
        f"<td class='num'>{_fmt(min(xs))}</td><td class='num'>{_fmt(statistics.median(xs))}</td>"
        f"<td class='num'>{_fmt(max(xs))}</td></tr>"
        for m, xs in values.items()
    )
    return f'<table class="timing" data-metric="{escape(key)}">{head}{rows}</table>'


# -- the prompts -----------------------------------------------------------------
def _prompts_section(runs: Sequence[Run], votes: Sequence[Vote]) -> list[str]:
    out = ['<section id="prompts"><h2>Every prompt, the replies side by side</h2>']
    for plan, results in runs:
        found = {(r.prompt_index, r.model): r for r in results}
        for index, prompt in enumerate(plan.prompts):
            tag = plan.tag(index)
            badge = f' <span class="tag">{escape(tag)}</span>' if tag else ""
            out.append(
                f'<section class="prompt" data-run="{escape(plan.name)}" data-index="{index + 1}">'
                f"<h3>{escape(plan.name)} · prompt {index + 1}{badge}</h3>"
                f'<div class="prompt-text">{escape(prompt)}</div>'
                f'<div class="replies" style="--n:{len(plan.models)}">'
            )
            for model in plan.models:
                r = found.get((index, model))
                text = "(not asked yet)" if r is None else r.reply or f"({r.status})"
                figures = "" if r is None else figures_line(r.figures)
                status = "" if r is None or r.status == "done" else f" ({escape(r.status)})"
                out.append(
                    f'<div class="reply" data-model="{escape(model)}"><h4>{escape(model)}'
                    f"{status}</h4><pre>{escape(text)}</pre>"
                    f'<div class="figures">{escape(figures)}</div></div>'
                )
            out.append("</div>")
            cast = [v for v in votes if v.run == plan.name and v.prompt == prompt]
            if cast:
                out.append('<ul class="votes">' + "".join(_vote_item(v) for v in cast) + "</ul>")
            out.append("</section>")
    out.append("</section>")
    return out


def _vote_item(v: Vote) -> str:
    who = f"judge {v.judge}" if v.by != "human" else "a person"
    winner = v.winner or {"tie": "a tie", "bad": "both bad"}.get(v.verdict, v.verdict)
    between = " vs ".join(v.contestants)
    reason = f" — {escape(v.reason)}" if v.reason else ""
    return f"<li>{escape(who)}: {escape(between)} → <b>{escape(winner)}</b>{reason}</li>"
