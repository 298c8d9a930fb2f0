"""Overhead of Chartbridge on real NautilusTrader backtests: a matrix of strategy shapes, each a
ratio measured in one run.

    .venv/bin/python python/bench/nautilus_overhead.py [--quick] [--rounds 5] [--max-rounds 15] [--shape NAME ...] [--bars N]

The shapes are in ``overhead_shapes.py`` (1.x) and ``overhead_shapes_v2.py`` (2.x, run with the
NautilusTrader 2 venv's python: ``scripts/venv-nt2.sh``): the EMA-cross example, an indicator-heavy strategy
(Nautilus indicators plus the SDK's indicator decorators and a candlestick ``@cb.chart``), a
fill-heavy one (``cb.marker`` on each fill), a short 20k-bar run (connecting, registering and the
run's git identity count), the same 20k bars charted by the decorators alone (no actor: what a
first try without reading the README does) and two instruments with two bar types. Each runs
twice per round, each time in a fresh process: without Chartbridge (``CHARTBRIDGE=off``: no
actor, decorators are the plain functions) and with everything charted into a private redis-server. The time is
``engine.run()`` plus, when charted, ``cb.flush()`` until Redis holds every point; building the
bars is not timed. Target: <= 1.10x for every shape.

A round runs the two in lockstep (``lockstep.py``): both processes built, then taking turns of
20 ms, so a neighbour's load on this shared machine falls on both; each one's time is that of
its own turns (every other round the charted run's turn first). Run back to back instead, the
plain run alone varied by 5-20% between rounds here and a round's ratio spread over 0.92-1.41x
(session 18, decorators_only); in turns, two plain runs of one shape read 0.992-1.024x. A shape's
ratio is the median of its rounds', given with a distribution-free 90% confidence interval
(``median_interval``: order statistics, no assumption on how the rounds scatter); its upper end
is recorded as ``..._upper`` with the same target, so a shape meets the target with margin when
the median is <= 1.10x at 95% confidence, one-sided. ``--max-rounds`` adds rounds to a shape,
one at a time, until its interval lies on one side of 1.10x or the rounds run out: a shape far
from the target stops at ``--rounds``. First, an A/A check (``noise``): two plain runs of
``short`` in the same lockstep, whose largest distance from 1.0 (what a round may be off by on
this machine) is printed and recorded. The ratio of process CPU time (the strategy's thread and the
producer's) is printed and recorded beside it; it misses what waiting costs (a GIL hand-off, a
round trip to Redis), which the turns' time counts.
``--quick`` runs fewer bars.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import lockstep  # noqa: E402
from shape import Shape, run  # noqa: E402


NOISE_SHAPE = "short"  # the A/A check's shape: the cheapest one that runs everything
TARGET = 1.10
CONFIDENCE = 0.90  # two-sided: the interval's upper end is a one-sided 95% bound


def shapes() -> dict[str, Shape]:
    """The installed NautilusTrader line's shapes (the same five on both lines)."""
    from chartbridge.nautilus.compat import V2

    if V2:
        from overhead_shapes_v2 import SHAPES
    else:
        from overhead_shapes import SHAPES
    return SHAPES


def child(shape: str, bars: int, charted: bool) -> None:
    """One timed backtest in this process, in its turns (``lockstep``); prints its figures as JSON."""
    print(json.dumps(run(shapes()[shape], bars, charted, built=lockstep.ready)))


def measure(shape: str, bars: int, url: str, modes: tuple[bool, bool]) -> list[dict[str, float]]:
    """Two runs of ``shape`` in lockstep, charted or not as ``modes`` says (the first's turn first)."""
    commands = [[sys.executable, __file__, "--child", "charted" if charted else "baseline", "--shape", shape,
                 "--bars", str(bars)] for charted in modes]
    envs = [{**os.environ, "CHARTBRIDGE_REDIS_URL": url, "CHARTBRIDGE": "on" if charted else "off"} for charted in modes]
    return lockstep.run_pair(commands, envs)


def measure_pair(shape: str, bars: int, url: str, charted_first: bool) -> tuple[dict[str, float], dict[str, float]]:
    """The plain and the charted run of ``shape``, in lockstep; ``charted_first``: its turn comes first."""
    first, second = measure(shape, bars, url, (True, False) if charted_first else (False, True))
    return (second, first) if charted_first else (first, second)


def bars_of(shape: Shape, bars: int | None, quick: bool) -> int:
    """The bars ``shape`` runs on: ``--bars`` if given, else its own (``--quick``: fewer)."""
    return bars or (shape.quick_bars if quick else shape.bars)


def noise(bars: int | None, quick: bool, rounds: int, url: str) -> tuple[float, list[float], int]:
    """Two plain runs of ``NOISE_SHAPE`` in lockstep, ``rounds`` times: their ratios, 1.0 but for
    what moves between two processes of the same code here. The largest distance from 1.0 is
    what a single round's ratio may be off by. Measured in session 19 on an AMD EPYC (2 cores):
    0.925-1.007 over 7 rounds, where an Intel Xeon read 0.992-1.024 the session before."""
    n = bars_of(shapes()[NOISE_SHAPE], bars, quick)
    ratios = []
    for _ in range(rounds):
        a, b = measure(NOISE_SHAPE, n, url, (False, False))
        ratios.append(b["active"] / a["active"])
    return max(abs(r - 1.0) for r in ratios), ratios, n


def listed(ratios: list[float]) -> str:
    """Ratios as the printout and the figures' labels list them: ``1.012, 0.987``."""
    return ", ".join(f"{r:.3f}" for r in ratios)


def median_interval(ratios: list[float], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """A distribution-free ``confidence`` interval of the median the rounds are drawn from: the
    k-th smallest and k-th largest round, for the largest k at which fewer than k of n rounds
    fall below the median with a chance of at most (1 - confidence) / 2 (a Binomial(n, 1/2)
    tail). None when n rounds are too few for it (fewer than 5 at 90%). By hand: scipy's
    ``quantile_test`` computes the same, but nothing else here needs scipy."""
    n, alpha = len(ratios), (1.0 - confidence) / 2
    k, tail = 0, 0.0
    while k < n:
        tail += math.comb(n, k) / 2**n  # P(fewer than k + 1 rounds below the median)
        if tail > alpha:
            break
        k += 1
    if k == 0:
        return None
    ordered = sorted(ratios)
    return ordered[k - 1], ordered[n - k]


def verdict(interval: tuple[float, float] | None) -> str | None:
    """Which side of the target ``interval`` lies on, "within" or "over"; None: the median is not
    told apart from the target (or there is no interval)."""
    if interval is None:
        return None
    return "within" if interval[1] <= TARGET else "over" if interval[0] > TARGET else None


Round = tuple[dict[str, float], dict[str, float]]  # the plain run's figures, the charted run's


def sample(take: Callable[[int], Round], rounds: int, max_rounds: int) -> list[Round]:
    """``rounds`` rounds of a shape (``take(i)`` runs round i), then more, one at a time, until the
    median's interval lies on one side of the target or ``max_rounds`` are taken."""
    taken: list[Round] = []
    while len(taken) < rounds or (len(taken) < max_rounds and verdict(
            median_interval([c["active"] / b["active"] for b, c in taken])) is None):
        taken.append(take(len(taken)))
    return taken


def main() -> None:
    from chartbridge.nautilus.compat import V2

    SHAPES = shapes()
    line = "_nt2" if V2 else ""  # the figures of the 2.x line's run (bench/run.ts) apart from 1.x's
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer bars per shape")
    parser.add_argument("--bars", type=int, help="bars for every shape (default: each shape's own)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of every shape")
    parser.add_argument("--max-rounds", type=int, help="more rounds, one at a time, until a shape's interval "
                                                       f"lies on one side of {TARGET:.2f}x (default: --rounds)")
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES), help="only these shapes")
    parser.add_argument("--noise-rounds", type=int, help="rounds of the A/A check (default: --rounds; 0: none)")
    parser.add_argument("--child", choices=("baseline", "charted"))
    args = parser.parse_args()
    if args.child:
        child(args.shape[0], args.bars, args.child == "charted")
        return

    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows under npm run bench
    sys.path.insert(0, str(REPO / "python" / "src"))
    from chartbridge.testing import RedisServer

    server = RedisServer(Path(tempfile.mkdtemp(prefix="cb-bench-")))
    server.start()
    figures = []
    print(f"Chartbridge overhead on NautilusTrader backtests, {args.rounds} paired round(s) per shape, "
          f"{os.cpu_count()} CPUs")
    try:
        noise_rounds = args.rounds if args.noise_rounds is None else args.noise_rounds
        max_rounds = max(args.rounds, args.max_rounds or 0)
        if noise_rounds:
            spread, aa, aa_bars = noise(args.bars, args.quick, noise_rounds, server.url)
            print(f"noise: two plain runs of {NOISE_SHAPE} ({aa_bars:,} bars) in lockstep read "
                  + listed(aa) + f"x: a round may be off by {spread:.3f}")
            figures.append({"name": f"producer_overhead{line}_noise", "value": round(spread, 3), "unit": "x",
                            "target": "<= 0.02", "baseline": None,
                            "baselineLabel": f"largest distance from 1.0 of two plain runs of {NOISE_SHAPE} "
                                             f"({aa_bars} bars) in lockstep; rounds " + listed(aa)})
        for shape in (SHAPES[name] for name in args.shape or SHAPES):
            bars = bars_of(shape, args.bars, args.quick)
            # each round: the two runs in turns, so drift hits both; every other round the charted run's turn first
            rounds = sample(lambda i: measure_pair(shape.name, bars, server.url, charted_first=i % 2 == 1),
                            args.rounds, max_rounds)
            # A charted run that lost, refused or did not deliver a point measured less than the work.
            invalid = [c for _, c in rounds if not c["delivered"] or c["dropped"] or c["rejected"]]
            if invalid:
                raise RuntimeError(f"{shape.name}: a charted run did not store every point: delivered="
                                   f"{invalid[0]['delivered']}, dropped={invalid[0]['dropped']}, "
                                   f"rejected={invalid[0]['rejected']}")
            ratios = [c["active"] / b["active"] for b, c in rounds]
            cpu_ratios = [c["cpu"] / b["cpu"] for b, c in rounds]
            ratio, cpu_ratio = statistics.median(ratios), statistics.median(cpu_ratios)
            last = rounds[-1][1]
            print(f"{shape.name}: {shape.what}, {bars:,} bars, {last['orders']:,.0f} orders")
            for i, (b, c) in enumerate(rounds):
                print(f"  round {i + 1}: {b['active']:6.2f} s without, {c['active']:6.2f} s charted "
                      f"(Redis had every point {c['seconds'] - c['run']:.2f} s after engine.run, in turns; CPU "
                      f"{b['cpu']:.2f} / {c['cpu']:.2f} s): {ratios[i]:.3f}x, CPU {cpu_ratios[i]:.3f}x")
            interval = median_interval(ratios)
            shown = (f"{CONFIDENCE:.0%} interval {interval[0]:.3f}-{interval[1]:.3f}x" if interval else
                     f"too few rounds for a {CONFIDENCE:.0%} interval")
            print(f"  ratio {ratio:.3f}x (median of {len(rounds)}; {shown}; target <= {TARGET:.2f}x), "
                  f"CPU {cpu_ratio:.3f}x; {last['entries']:,.0f} Redis entries, delivered={last['delivered']}, "
                  f"rejected={last['rejected']:.0f}, dropped={last['dropped']:.0f}")
            if interval is not None:
                print(f"  {verdict(interval) or 'not told apart from'} the target at {CONFIDENCE:.0%} confidence")
            fastest = min(b["active"] for b, _ in rounds)
            label = f"{shape.what}, {bars} bars, without chartbridge in the same round"
            rounds_label = f"{len(rounds)} rounds: " + listed(ratios)
            figures += [{"name": f"producer_overhead{line}_{shape.name}_ratio", "value": round(ratio, 3), "unit": "x",
                         "target": f"<= {TARGET:.2f}", "baseline": None,
                         "baselineLabel": f"{label} ({fastest:.2f} s fastest); {rounds_label}"},
                        # CPU time (both threads) moves far less than wall time on a shared machine
                        {"name": f"producer_overhead{line}_{shape.name}_cpu_ratio", "value": round(cpu_ratio, 3),
                         "unit": "x", "target": f"<= {TARGET:.2f}", "baseline": None,
                         "baselineLabel": f"{label}, process CPU time; rounds "
                                          + listed(cpu_ratios)}]
            if interval is not None:  # the median's upper bound: the target met with margin when <= 1.10
                figures.append({"name": f"producer_overhead{line}_{shape.name}_upper", "value": round(interval[1], 3),
                                "unit": "x", "target": f"<= {TARGET:.2f}", "baseline": None,
                                "baselineLabel": f"upper end of the median's {CONFIDENCE:.0%} interval "
                                                 f"(distribution-free), {rounds_label}"})
    finally:
        server.stop()
    print(json.dumps({"figures": figures}))


if __name__ == "__main__":
    main()
