"""Overhead of Chartbridge on a real NautilusTrader backtest, as a ratio measured in one run.

    .venv/bin/python python/bench/nautilus_overhead.py [--bars 1000000] [--rounds 1]

The EMA-cross example (``examples/nautilus-ema-cross``) on synthetic one-minute bars, twice per
round, each in a fresh process: without Chartbridge (``CHARTBRIDGE=off``: no actor, decorators
are the plain functions) and with everything charted (the actor plus the strategy's decorator
and plugin) into a private redis-server. The time is ``engine.run()`` plus, when charted,
``cb.flush()`` until Redis holds every point; building the bars is not timed. Target: <= 1.10x.

A round runs the two back to back; the ratio is the median of the rounds' ratios. On a shared
machine the plain run alone varies by 5% or more between rounds (31.4 to 34.4 s here), so the
fastest plain run over the fastest charted one would compare two different moments.

The EMAs are 100/400 so that the strategy trades every few hundred bars: with 10/20 on a random
walk it trades every ~20 bars and Nautilus's own end-of-run analysis (pandas, quadratic in
positions) would be the whole run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "nautilus-ema-cross"
PERIODS = (100, 400)


def child(bars: int, charted: bool) -> None:
    """One timed backtest in this process; prints its figures as JSON."""
    sys.path.insert(0, str(EXAMPLE))
    import importlib

    import chartbridge as cb
    from chartbridge.nautilus.compat import V2

    build_engine = importlib.import_module("ema_cross_v2" if V2 else "ema_cross").build_engine  # the installed line's

    engine, _ = build_engine(bars, charted=charted, periods=PERIODS)
    started, cpu = time.perf_counter(), time.process_time()
    engine.run()
    ran = time.perf_counter() - started
    delivered = cb.flush(120.0)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "run": ran, "cpu": cpu, "delivered": delivered,
                      "orders": engine.cache.orders_total_count(), **cb.stats()}))


def measure(bars: int, charted: bool, url: str) -> dict[str, float]:
    env = {**os.environ, "CHARTBRIDGE_REDIS_URL": url, "CHARTBRIDGE": "on" if charted else "off"}
    out = subprocess.run([sys.executable, __file__, "--child", "charted" if charted else "baseline",
                          "--bars", str(bars)], env=env, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=("baseline", "charted"))
    args = parser.parse_args()
    if args.child:
        child(args.bars, args.child == "charted")
        return

    sys.path.insert(0, str(REPO / "python" / "src"))
    from chartbridge.testing import RedisServer

    server = RedisServer(Path(tempfile.mkdtemp(prefix="cb-bench-")))
    server.start()
    try:
        rounds = []
        for _ in range(args.rounds):  # each round: the two runs back to back, so drift hits both
            rounds.append((measure(args.bars, False, server.url), measure(args.bars, True, server.url)))
    finally:
        server.stop()
    ratios = sorted(c["seconds"] / b["seconds"] for b, c in rounds)
    ratio = statistics.median(ratios)
    b = min(r[0]["seconds"] for r in rounds)
    c = min(r[1]["seconds"] for r in rounds)
    b_cpu, c_cpu = min(r[0]["cpu"] for r in rounds), min(r[1]["cpu"] for r in rounds)
    last = rounds[-1][1]
    print(f"EMA-cross {PERIODS[0]}/{PERIODS[1]}, {args.bars:,} bars, {rounds[-1][0]['orders']:,.0f} orders, "
          f"{args.rounds} round(s), {os.cpu_count()} CPUs")
    for i, (x, y) in enumerate(rounds):
        print(f"  round {i + 1}: {x['seconds']:6.2f} s without Chartbridge, {y['seconds']:6.2f} s charted: "
              f"{y['seconds'] / x['seconds']:.3f}x")
    print(f"  fastest: {b:.2f} s without ({args.bars / b:,.0f} bars/s), {c:.2f} s charted "
          f"(CPU {b_cpu:.2f} s / {c_cpu:.2f} s; engine.run then Redis had every point "
          f"{last['seconds'] - last['run']:.2f} s later; {last['entries']:,.0f} Redis entries, "
          f"delivered={last['delivered']}, rejected={last['rejected']:.0f}, dropped={last['dropped']:.0f})")
    per_bar = statistics.median((y["seconds"] - x["seconds"]) / args.bars * 1e6 for x, y in rounds)
    print(f"  ratio: {ratio:.3f}x (median of the rounds' ratios; fastest over fastest {c / b:.3f}x; "
          f"target <= 1.10x), {per_bar:.1f} us per bar (median)")
    print(json.dumps({"figures": [{"name": "producer_overhead_ratio", "value": round(ratio, 3), "unit": "x",
                                   "target": "<= 1.10", "baseline": None,
                                   "baselineLabel": f"same {args.bars}-bar backtest without chartbridge, in "
                                                    f"the same round ({b:.1f} s fastest of {args.rounds})"}]}))


if __name__ == "__main__":
    main()
