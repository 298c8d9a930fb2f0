"""Overhead of ``ChartbridgeActor`` on a tick-driven NautilusTrader backtest (no bars), as a ratio
measured in one run.

    .venv/bin/python python/bench/ticks_overhead.py [--ticks 1000000] [--rounds 3] [--kind quotes|trades]
                                                    [--interval 60]

``QuoteCross`` (or ``TradeCross``) of python/bench/tick_backtest.py, an EMA(100/400) cross on
synthetic EUR/USD ticks, twice per round, each in a fresh process: without Chartbridge
(``CHARTBRIDGE=off``, no actor) and with the actor (every tick charted, PnL and equity sampled
every ``--interval`` s of event time) into a private redis-server. The time is ``engine.run()``
plus, when charted, ``cb.flush()`` until Redis holds every point; making the ticks is not timed.
The ratio is the median of the rounds' ratios (each round runs the two back to back). Target:
<= 1.10x, the producer's target on bars.
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
PERIODS = (100, 400)


def child(ticks: int, kind: str, charted: bool, interval: float) -> None:
    """One timed backtest in this process; prints its figures as JSON."""
    sys.path.insert(0, str(Path(__file__).parent))
    import chartbridge as cb
    from tick_backtest import build_engine

    actor = None
    if charted:
        from chartbridge.nautilus import ChartbridgeActor, ChartbridgeConfig

        actor = ChartbridgeActor(ChartbridgeConfig(tick_sample_interval=interval))
    engine, _ = build_engine(ticks, kind, actor=actor, periods=PERIODS)
    started, cpu = time.perf_counter(), time.process_time()
    engine.run()
    delivered = cb.flush(120.0)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    # Markers keep no count (points.Markers): the fills are the orders' fills.
    points = {p.series.id: p.count for p in actor.points if p.series.kind != "marker"} if actor is not None else {}
    print(json.dumps({"seconds": seconds, "cpu": cpu, "delivered": delivered, "points": points,
                      "orders": engine.cache.orders_total_count(), **cb.stats()}))


def measure(args: argparse.Namespace, charted: bool, url: str) -> dict[str, object]:
    env = {**os.environ, "CHARTBRIDGE_REDIS_URL": url, "CHARTBRIDGE": "on" if charted else "off"}
    out = subprocess.run([sys.executable, __file__, "--child", "charted" if charted else "baseline",
                          "--ticks", str(args.ticks), "--kind", args.kind, "--interval", str(args.interval)],
                         env=env, capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kind", choices=("quotes", "trades"), default="quotes")
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--child", choices=("baseline", "charted"))
    args = parser.parse_args()
    if args.child:
        child(args.ticks, args.kind, args.child == "charted", args.interval)
        return

    sys.path.insert(0, str(REPO / "python" / "src"))
    from chartbridge.testing import RedisServer

    server = RedisServer(Path(tempfile.mkdtemp(prefix="cb-bench-")))
    server.start()
    try:
        rounds = []
        for i in range(args.rounds):  # every other round charted first: a machine getting busier favours neither
            first = i % 2 == 1
            pair = [measure(args, charted, server.url) for charted in (first, not first)]
            rounds.append((pair[0], pair[1]) if not first else (pair[1], pair[0]))
    finally:
        server.stop()
    ratios = [float(c["seconds"]) / float(b["seconds"]) for b, c in rounds]  # type: ignore[arg-type]
    ratio = statistics.median(ratios)
    # Process CPU time moves far less than wall time with the machine's load.
    cpu_ratios = [float(c["cpu"]) / float(b["cpu"]) for b, c in rounds]  # type: ignore[arg-type]
    cpu_ratio = statistics.median(cpu_ratios)
    fastest = min(float(b["seconds"]) for b, _ in rounds)  # type: ignore[arg-type]
    last = rounds[-1][1]
    print(f"{args.kind} EMA-cross {PERIODS[0]}/{PERIODS[1]}, {args.ticks:,} ticks, {last['orders']:,} orders, "
          f"PnL/equity every {args.interval:g} s, {args.rounds} round(s), {os.cpu_count()} CPUs")
    for i, ((b, c), r) in enumerate(zip(rounds, ratios)):
        print(f"  round {i + 1}: {b['seconds']:6.2f} s without Chartbridge, {c['seconds']:6.2f} s charted: {r:.3f}x "
              f"(CPU {b['cpu']:.2f} / {c['cpu']:.2f} s: {cpu_ratios[i]:.3f}x)")
    print(f"  points charted: {last['points']} (delivered={last['delivered']}, rejected={last['rejected']}, "
          f"dropped={last['dropped']})")
    print(f"  ratio: {ratio:.3f}x (median of the rounds' ratios; target <= 1.10x), CPU {cpu_ratio:.3f}x")
    print(json.dumps({"figures": [{"name": f"ticks_overhead_ratio_{args.kind}", "value": round(ratio, 3),
                                   "unit": "x", "target": "<= 1.10", "baseline": None,
                                   "baselineLabel": f"same {args.ticks}-tick backtest without chartbridge, in "
                                                    f"the same round ({fastest:.1f} s fastest of {args.rounds})"},
                                  {"name": f"ticks_overhead_cpu_ratio_{args.kind}", "value": round(cpu_ratio, 3),
                                   "unit": "x", "target": "<= 1.10", "baseline": None,
                                   "baselineLabel": f"same {args.ticks}-tick backtest without chartbridge, process "
                                                    "CPU time; rounds " + ", ".join(f"{r:.3f}" for r in cpu_ratios)}]}))


if __name__ == "__main__":
    main()
