"""Overhead of Chartbridge on real NautilusTrader backtests: a matrix of strategy shapes, each a
ratio measured in one run.

    .venv/bin/python python/bench/nautilus_overhead.py [--quick] [--rounds 5] [--shape NAME ...] [--bars N]

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

A round runs the two back to back (every other round the charted one first); a shape's ratio is
the median of its rounds' ratios. On a shared machine the plain run alone varies by 5% or more
between rounds (by 2x with other work on the cores), so the fastest plain run over the fastest
charted one would compare two different moments. The ratio of process CPU time (the strategy's
thread and the producer's) is printed and recorded beside it: it moves far less with the
machine's load, but misses what waiting costs (a GIL hand-off, a round trip to Redis).
``--quick`` runs fewer bars.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from shape import Shape, run  # noqa: E402


def shapes() -> dict[str, Shape]:
    """The installed NautilusTrader line's shapes (the same five on both lines)."""
    from chartbridge.nautilus.compat import V2

    if V2:
        from overhead_shapes_v2 import SHAPES
    else:
        from overhead_shapes import SHAPES
    return SHAPES


def child(shape: str, bars: int, charted: bool) -> None:
    """One timed backtest in this process; prints its figures as JSON."""
    print(json.dumps(run(shapes()[shape], bars, charted)))


def measure(shape: str, bars: int, charted: bool, url: str) -> dict[str, float]:
    env = {**os.environ, "CHARTBRIDGE_REDIS_URL": url, "CHARTBRIDGE": "on" if charted else "off"}
    out = subprocess.run([sys.executable, __file__, "--child", "charted" if charted else "baseline",
                          "--shape", shape, "--bars", str(bars)], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{shape} ({'charted' if charted else 'baseline'}) failed:\n{out.stderr}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    from chartbridge.nautilus.compat import V2

    SHAPES = shapes()
    line = "_nt2" if V2 else ""  # the figures of the 2.x line's run (bench/run.ts) apart from 1.x's
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer bars per shape")
    parser.add_argument("--bars", type=int, help="bars for every shape (default: each shape's own)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES), help="only these shapes")
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
        for shape in (SHAPES[name] for name in args.shape or SHAPES):
            bars = args.bars or (shape.quick_bars if args.quick else shape.bars)
            rounds = []
            for i in range(args.rounds):  # each round: the two runs back to back, so drift hits both
                first = i % 2 == 1  # every other round charted first: a machine getting busier favours neither
                pair = [measure(shape.name, bars, charted, server.url) for charted in (first, not first)]
                rounds.append((pair[0], pair[1]) if not first else (pair[1], pair[0]))
            # A charted run that lost, refused or did not deliver a point measured less than the work.
            invalid = [c for _, c in rounds if not c["delivered"] or c["dropped"] or c["rejected"]]
            if invalid:
                raise RuntimeError(f"{shape.name}: a charted run did not store every point: delivered="
                                   f"{invalid[0]['delivered']}, dropped={invalid[0]['dropped']}, "
                                   f"rejected={invalid[0]['rejected']}")
            ratios = [c["seconds"] / b["seconds"] for b, c in rounds]
            cpu_ratios = [c["cpu"] / b["cpu"] for b, c in rounds]
            ratio, cpu_ratio = statistics.median(ratios), statistics.median(cpu_ratios)
            last = rounds[-1][1]
            print(f"{shape.name}: {shape.what}, {bars:,} bars, {last['orders']:,.0f} orders")
            for i, (b, c) in enumerate(rounds):
                print(f"  round {i + 1}: {b['seconds']:6.2f} s without, {c['seconds']:6.2f} s charted "
                      f"(Redis had every point {c['seconds'] - c['run']:.2f} s after engine.run; CPU "
                      f"{b['cpu']:.2f} / {c['cpu']:.2f} s): {ratios[i]:.3f}x, CPU {cpu_ratios[i]:.3f}x")
            print(f"  ratio {ratio:.3f}x (median; rounds {min(ratios):.3f}-{max(ratios):.3f}x; target <= 1.10x), "
                  f"CPU {cpu_ratio:.3f}x; {last['entries']:,.0f} Redis entries, delivered={last['delivered']}, "
                  f"rejected={last['rejected']:.0f}, dropped={last['dropped']:.0f}")
            fastest = min(b["seconds"] for b, _ in rounds)
            label = f"{shape.what}, {bars} bars, without chartbridge in the same round"
            figures += [{"name": f"producer_overhead{line}_{shape.name}_ratio", "value": round(ratio, 3), "unit": "x",
                         "target": "<= 1.10", "baseline": None,
                         "baselineLabel": f"{label} ({fastest:.2f} s fastest of {args.rounds}); rounds "
                                          + ", ".join(f"{r:.3f}" for r in ratios)},
                        # CPU time (both threads) moves far less than wall time on a shared machine
                        {"name": f"producer_overhead{line}_{shape.name}_cpu_ratio", "value": round(cpu_ratio, 3),
                         "unit": "x", "target": "<= 1.10", "baseline": None,
                         "baselineLabel": f"{label}, process CPU time; rounds "
                                          + ", ".join(f"{r:.3f}" for r in cpu_ratios)}]
    finally:
        server.stop()
    print(json.dumps({"figures": figures}))


if __name__ == "__main__":
    main()
