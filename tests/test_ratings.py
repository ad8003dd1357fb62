"""Ratings from hand-made vote tables whose answers are known."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot_repl.repl.ratings import BASE, SCALE, Z95, Match, Rating, forest, rate

TINY = 1e-9  # the plain maximum-likelihood fit


def by_name(ratings: list[Rating]) -> dict[str, Rating]:
    return {r.name: r for r in ratings}


def wins(a: str, b: str, n: int) -> list[Match]:
    return [Match((a, b), a) for _ in range(n)]


def test_three_to_one_is_log_three_apart() -> None:
    r = by_name(rate(wins("a", "b", 3) + wins("b", "a", 1), prior=TINY))
    assert r["a"].rating - r["b"].rating == pytest.approx(SCALE * math.log(3), abs=0.01)
    assert r["a"].rating + r["b"].rating == pytest.approx(2 * BASE)  # mean stays at 1000


def test_confidence_interval_from_the_information() -> None:
    # d = a - b has variance 1 / (n p (1 - p)); each rating is d/2 from the mean
    r = by_name(rate(wins("a", "b", 3) + wins("b", "a", 1), prior=TINY))
    half = Z95 * SCALE * math.sqrt(1 / (4 * 0.75 * 0.25) / 4)
    assert r["a"].high - r["a"].rating == pytest.approx(half, rel=1e-4)
    assert r["a"].rating - r["a"].low == pytest.approx(half, rel=1e-4)


def test_more_votes_narrow_the_interval() -> None:
    few = by_name(rate(wins("a", "b", 3) + wins("b", "a", 1), prior=TINY))
    many = by_name(rate(wins("a", "b", 30) + wins("b", "a", 10), prior=TINY))
    assert many["a"].rating == pytest.approx(few["a"].rating, abs=0.01)
    width = many["a"].high - many["a"].low
    assert width == pytest.approx((few["a"].high - few["a"].low) / math.sqrt(10), rel=1e-4)


def test_ties_count_half() -> None:
    # one win and two ties: a scored 2 of 3, odds 2:1
    matches = [Match(("a", "b"), "a"), Match(("a", "b")), Match(("b", "a"), bad=True)]
    r = by_name(rate(matches, prior=TINY))
    assert r["a"].rating - r["b"].rating == pytest.approx(SCALE * math.log(2), abs=0.01)
    assert (r["a"].wins, r["a"].losses, r["a"].ties, r["a"].bad) == (1, 0, 1, 1)
    assert (r["b"].wins, r["b"].losses, r["b"].votes) == (0, 1, 3)


def test_even_record_is_even() -> None:
    ratings = rate(wins("a", "b", 2) + wins("b", "a", 2))
    assert [round(r.rating, 6) for r in ratings] == [BASE, BASE]


def test_only_wins_stay_finite_thanks_to_the_prior() -> None:
    r = by_name(rate(wins("a", "b", 1)))
    assert math.isfinite(r["a"].rating) and math.isfinite(r["a"].high)
    assert r["a"].rating > r["b"].rating
    # the default prior: one vote moves a rating by about a hundred points, not thousands
    assert 30 < r["a"].rating - BASE < 300


def test_chain_orders_by_strength_and_links_unmet_pairs() -> None:
    # a beats b, b beats c (3:1 each); a and c never met
    matches = wins("a", "b", 3) + wins("b", "a", 1) + wins("b", "c", 3) + wins("c", "b", 1)
    r = by_name(rate(matches, prior=TINY))
    assert r["a"].rating - r["c"].rating == pytest.approx(2 * SCALE * math.log(3), abs=0.05)
    assert [x.name for x in rate(matches)] == ["a", "b", "c"]
    # c is least known relative to a: wider interval than b's
    assert r["a"].high - r["a"].low > r["b"].high - r["b"].low


def test_a_vote_among_three() -> None:
    # a won against b and c; b and c were not compared with each other
    r = by_name(rate([Match(("a", "b", "c"), "a")] * 2 + [Match(("b", "c", "a"), "c")]))
    assert r["a"].rating > r["c"].rating > r["b"].rating
    assert (r["a"].wins, r["a"].losses) == (2, 1)
    assert (r["b"].wins, r["b"].losses, r["b"].votes) == (0, 3, 3)


def test_no_votes() -> None:
    assert rate([]) == []
    assert forest([]) == []


def test_prior_must_be_positive() -> None:
    with pytest.raises(ValueError):
        rate([], prior=0)


def test_forest_draws_interval_and_point() -> None:
    ratings = rate(wins("a", "b", 8) + wins("b", "a", 2))
    bars = forest(ratings, width=30)
    assert len(bars) == 2 and all(len(b) == 30 for b in bars)
    assert all(b.count("●") == 1 for b in bars)
    # the better one's point lies to the right of the other's
    assert bars[0].index("●") > bars[1].index("●")
    assert bars[0].rstrip().endswith("┤") and bars[1].lstrip().startswith("├")


def test_to_dict() -> None:
    d = rate(wins("a", "b", 1))[0].to_dict()
    assert d["model"] == "a" and d["votes"] == 1 and d["wins"] == 1
    assert isinstance(d["ci95"], list) and len(d["ci95"]) == 2


votes = st.lists(
    st.tuples(
        st.sampled_from(["p", "q", "r", "s"]),
        st.sampled_from(["p", "q", "r", "s"]),
        st.sampled_from(["first", "second", "tie", "bad"]),
    ).filter(lambda v: v[0] != v[1]),
    max_size=30,
)


def to_matches(table: list[tuple[str, str, str]]) -> list[Match]:
    out = []
    for a, b, verdict in table:
        winner = {"first": a, "second": b}.get(verdict)
        out.append(Match((a, b), winner, bad=verdict == "bad"))
    return out


@settings(max_examples=60, deadline=None)
@given(votes, st.randoms(use_true_random=False))
def test_properties(table: list[tuple[str, str, str]], rnd: random.Random) -> None:
    matches = to_matches(table)
    ratings = rate(matches)
    if not ratings:
        return
    # mean 1000, every interval around its rating, finite
    assert sum(r.rating for r in ratings) / len(ratings) == pytest.approx(BASE, abs=1e-6)
    assert all(r.low <= r.rating <= r.high and math.isfinite(r.high) for r in ratings)
    # the order of the votes does not matter
    shuffled = matches[:]
    rnd.shuffle(shuffled)
    again = by_name(rate(shuffled))
    for r in ratings:
        assert again[r.name].rating == pytest.approx(r.rating, abs=1e-6)
    # flipping every verdict mirrors the ratings around the mean
    flipped = [Match(m.players[::-1], m.winner, m.bad) for m in matches]
    mirror = [
        Match(m.players, next(p for p in m.players if p != m.winner) if m.winner else None, m.bad)
        for m in flipped
    ]
    mirrored = by_name(rate(mirror))
    for r in ratings:
        assert mirrored[r.name].rating - BASE == pytest.approx(BASE - r.rating, abs=1e-6)
    # per-vote counts add up
    for r in ratings:
        assert r.wins + r.losses + r.ties + r.bad == r.votes


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), min_size=1, max_size=60))
def test_the_inverse_is_an_inverse(pairs: list[tuple[int, int]]) -> None:
    """The covariance comes from one Gauss-Jordan inverse (was one solve per
    contestant: 200 contestants took close to a minute, now about 2 s)."""
    from copilot_repl.repl.ratings import _information, _inverse

    games = [(i, j, 1.0) for i, j in pairs if i != j]
    info = _information(12, games, [0.0] * 12, 0.5)
    inv = _inverse(info)
    for r in range(12):
        for c in range(12):
            got = sum(info[r][k] * inv[k][c] for k in range(12))
            assert abs(got - (1.0 if r == c else 0.0)) < 1e-9
