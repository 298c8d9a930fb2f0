"""The overhead matrix's verdict (python/bench/nautilus_overhead.py): a shape's median ratio with
a distribution-free 90% interval, and rounds added until the interval lies on one side of 1.10x."""

from __future__ import annotations

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "python" / "bench"))
from nautilus_overhead import Round, median_interval, sample, verdict  # noqa: E402


def test_the_interval_is_the_order_statistics_a_binomial_tail_allows() -> None:
    # 5 rounds: the smallest and largest (each outside the median with a chance of 1/32 <= 5%)
    assert median_interval([1.08, 1.02, 1.12, 1.05, 1.07]) == (1.02, 1.12)
    # 9 rounds: P(fewer than 2 below) = 10/512 <= 5%, P(fewer than 3) = 46/512 > 5%: the 2nd and 8th
    assert median_interval([1.0 + i / 100 for i in (9, 1, 8, 2, 7, 3, 6, 4, 5)]) == (1.02, 1.08)
    # 11 rounds: P(fewer than 3 below) = 67/2048 <= 5%: the 3rd and 9th
    assert median_interval([1.0 + i / 100 for i in range(11)]) == (1.02, 1.08)
    # 4 rounds: even the extremes miss the median with a chance of 1/16 > 5%: no interval
    assert median_interval([1.01, 1.02, 1.03, 1.04]) is None


def test_an_interval_straddling_the_target_is_not_told_apart_from_it() -> None:
    assert verdict((1.03, 1.10)) == "within"
    assert verdict((1.101, 1.2)) == "over"
    assert verdict((1.05, 1.12)) is None
    assert verdict(None) is None


def rounds_of(ratios: list[float]) -> list[float]:
    """The ratios of the rounds ``sample`` takes when round i reads ``ratios[i]``."""
    def take(i: int) -> Round:
        return {"active": 1.0}, {"active": ratios[i]}
    return [c["active"] / b["active"] for b, c in sample(take, 5, 9 if len(ratios) >= 9 else len(ratios))]


def test_rounds_are_added_until_the_median_is_told_apart_from_the_target() -> None:
    # within the target from the first 5 rounds: no more taken
    assert rounds_of([1.05, 1.06, 1.04, 1.07, 1.05, 1.3, 1.3, 1.3, 1.3]) == [1.05, 1.06, 1.04, 1.07, 1.05]
    # 5 to 7 rounds: the interval is the extremes, 1.04-1.12; at 8 (P(fewer than 2 below) = 9/256
    # <= 5%) the 2nd smallest and 2nd largest, 1.05-1.08, lie under 1.10: the 9th is not taken
    straddling = [1.05, 1.06, 1.04, 1.07, 1.12, 1.06, 1.05, 1.08, 1.3]
    assert rounds_of(straddling) == straddling[:8]
    # never told apart: every round up to the most allowed
    assert len(rounds_of([1.0, 1.2] * 5)) == 9
