"""Ratings from votes: a Bradley–Terry model fitted to every vote at once
(so the order of the votes does not matter, unlike Elo updated vote by vote),
shown on the Elo scale (mean 1000, 400 points = 10:1 odds), with a 95 %
confidence interval from the curvature of the likelihood.

Pure: a vote table in, numbers out. A vote among several contestants is
taken as the pairwise games it implies: the winner beats each other one; a
tie (or "all bad") is half a win for each in every pair.

A weak prior (``prior``: a ridge penalty on the log-strengths, as if every
contestant had drawn a little against the average) keeps the ratings finite
when a contestant has only won or only lost; ``prior`` near 0 gives the plain
maximum-likelihood fit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

BASE = 1000.0
SCALE = 400.0 / math.log(10.0)  # Elo points per unit of log-odds
Z95 = 1.959963984540054
DEFAULT_PRIOR = 0.5


@dataclass(frozen=True)
class Match:
    """One vote: who took part, and who won (None: a tie; ``bad``: all bad)."""

    players: tuple[str, ...]
    winner: str | None = None
    bad: bool = False

    def games(self) -> list[tuple[str, str, float]]:
        """``(i, j, score of i)`` for each pair: 1 win, 0.5 tie."""
        out = []
        ps = self.players
        for x in range(len(ps)):
            for y in range(x + 1, len(ps)):
                i, j = ps[x], ps[y]
                if self.winner == i:
                    out.append((i, j, 1.0))
                elif self.winner == j:
                    out.append((i, j, 0.0))
                elif self.winner is None:
                    out.append((i, j, 0.5))
                # a third player won: i and j were not compared with each other
        return out


@dataclass(frozen=True)
class Rating:
    """A contestant's place on the scoreboard."""

    name: str
    rating: float
    low: float  # 95 % confidence interval
    high: float
    votes: int
    wins: int
    losses: int
    ties: int
    bad: int

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.name,
            "rating": round(self.rating, 1),
            "ci95": [round(self.low, 1), round(self.high, 1)],
            "votes": self.votes,
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
            "bad": self.bad,
        }


def rate(matches: Sequence[Match], *, prior: float = DEFAULT_PRIOR) -> list[Rating]:
    """Every contestant's rating, best first (ties in rating: by name)."""
    if prior <= 0:
        raise ValueError("prior must be > 0 (use a tiny one for the plain fit)")
    names = sorted({p for m in matches for p in m.players})
    index = {n: k for k, n in enumerate(names)}
    games = [(index[i], index[j], s) for m in matches for i, j, s in m.games() if i != j]
    beta = _fit(len(names), games, prior)
    cov = _centred_covariance(_information(len(names), games, beta, prior))
    counts = _counts(matches)
    out = []
    for k, name in enumerate(names):
        mid = BASE + SCALE * beta[k]
        half = Z95 * SCALE * math.sqrt(max(cov[k][k], 0.0))
        out.append(Rating(name, mid, mid - half, mid + half, *counts[name]))
    out.sort(key=lambda r: (-r.rating, r.name))
    return out


def _counts(matches: Sequence[Match]) -> dict[str, tuple[int, int, int, int, int]]:
    """Per contestant: votes, wins, losses, ties, all-bad (one vote each)."""
    tally: dict[str, list[int]] = {}
    for m in matches:
        for p in set(m.players):
            row = tally.setdefault(p, [0, 0, 0, 0, 0])
            row[0] += 1
            if m.bad:
                row[4] += 1
            elif m.winner is None:
                row[3] += 1
            elif m.winner == p:
                row[1] += 1
            else:
                row[2] += 1
    return {p: (r[0], r[1], r[2], r[3], r[4]) for p, r in tally.items()}


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _fit(n: int, games: list[tuple[int, int, float]], prior: float) -> list[float]:
    """The log-strengths maximising likelihood × prior (Newton's method; the
    objective is strictly concave, so it converges from zero)."""
    beta = [0.0] * n
    for _ in range(100):
        grad = [-prior * b for b in beta]
        for i, j, s in games:
            p = _sigmoid(beta[i] - beta[j])
            grad[i] += s - p
            grad[j] -= s - p
        step = _solve(_information(n, games, beta, prior), grad)
        largest = max((abs(x) for x in step), default=0.0)
        if largest > 2.0:  # damped far from the optimum
            step = [x * 2.0 / largest for x in step]
        beta = [b + x for b, x in zip(beta, step, strict=True)]
        if largest < 1e-10:
            break
    mean = sum(beta) / n if n else 0.0
    return [b - mean for b in beta]


def _information(
    n: int, games: list[tuple[int, int, float]], beta: list[float], prior: float
) -> list[list[float]]:
    """Minus the Hessian of the log posterior."""
    info = [[prior if r == c else 0.0 for c in range(n)] for r in range(n)]
    for i, j, _ in games:
        p = _sigmoid(beta[i] - beta[j])
        w = p * (1.0 - p)
        info[i][i] += w
        info[j][j] += w
        info[i][j] -= w
        info[j][i] -= w
    return info


def _centred_covariance(info: list[list[float]]) -> list[list[float]]:
    """Covariance of the ratings measured from their mean: the overall level
    is not something votes can tell, so its (prior-only) spread is left out."""
    n = len(info)
    inv = _inverse(info)
    # P inv P with P = I - 11'/n (inv is symmetric; its columns are its rows)
    row_mean = [sum(row) / n for row in inv]
    total = sum(row_mean) / n if n else 0.0
    return [[inv[r][c] - row_mean[r] - row_mean[c] + total for c in range(n)] for r in range(n)]


def _eliminate(m: list[list[float]], n: int, *, upward: bool) -> None:
    """Gaussian elimination with partial pivoting on the rows of ``m`` (the
    first ``n`` columns; ``upward``: Gauss-Jordan, above the pivot too). Each
    row update is one list comprehension: pure Python, but a 200-contestant
    table takes seconds, not a minute."""
    for col in range(n):
        piv = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[piv] = m[piv], m[col]
        prow = m[col]
        d = prow[col]
        if upward:
            prow[col:] = [x / d for x in prow[col:]]
            d = 1.0
        tail = prow[col:]
        for r in range(0 if upward else col + 1, n):
            row = m[r]
            f = row[col] / d
            if f and r != col:
                row[col:] = [x - f * y for x, y in zip(row[col:], tail, strict=True)]


def _inverse(a: list[list[float]]) -> list[list[float]]:
    """``a``'s inverse by Gauss-Jordan (once, not one solve per column)."""
    n = len(a)
    m = [list(row) + [1.0 if c == r else 0.0 for c in range(n)] for r, row in enumerate(a)]
    _eliminate(m, n, upward=True)
    return [row[n:] for row in m]


def _solve(a: list[list[float]], b: Sequence[float]) -> list[float]:
    """``a x = b`` by Gaussian elimination with partial pivoting (a is
    symmetric positive definite)."""
    n = len(b)
    m = [list(row) + [b[r]] for r, row in enumerate(a)]
    _eliminate(m, n, upward=False)
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def forest(ratings: Sequence[Rating], width: int = 24) -> list[str]:
    """One small bar per rating on a shared axis: the confidence interval as
    ``├──┤`` with ``●`` at the rating, so overlapping intervals are visible."""
    if not ratings:
        return []
    lo = min(r.low for r in ratings)
    hi = max(r.high for r in ratings)
    span = hi - lo or 1.0

    def at(x: float) -> int:
        return min(width - 1, max(0, round((x - lo) / span * (width - 1))))

    out = []
    for r in ratings:
        cells = [" "] * width
        a, b, mid = at(r.low), at(r.high), at(r.rating)
        for k in range(a, b + 1):
            cells[k] = "─"
        cells[a], cells[b] = "├", "┤"
        cells[mid] = "●"
        out.append("".join(cells))
    return out
