"""Producer benchmark: figures as ratios against baselines measured in the same run.

1. The cost of a ``@cb.chart`` call against the same undecorated call (ns/call, overhead, ratio).
2. Points/s into Redis through the SDK (``Series.add`` per point, and ``publish_points`` in
   batches) against raw redis-py pipelined XADD of the same points, encoded the same way.

Starts its own private redis-server (free port, no persistence).
Run: ``.venv/bin/python python/bench/producer_bench.py [--points N]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from array import array
from collections.abc import Callable
from pathlib import Path

import redis

import chartbridge as cb
from chartbridge.testing import RedisServer

T0 = 1_700_000_000_000_000_000


def best_ns_per_call(fn: Callable[[float], float], calls: int, repeats: int = 5) -> float:
    """The best of ``repeats`` loops, in ns per call (the least disturbed by a noisy machine)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for i in range(calls):
            fn(float(i))
        best = min(best, (time.perf_counter_ns() - start) / calls)
        cb.flush(60)
    return best


def call_cost(calls: int) -> tuple[float, float]:
    def mid(x: float) -> float:
        return x * 0.5 + 1.0

    charted = cb.chart(name="bench.mid")(mid)
    plain = best_ns_per_call(mid, calls)
    decorated = best_ns_per_call(charted, calls)
    return plain, decorated


def raw_xadd(client: redis.Redis, key: str, points: int, batch: int) -> float:
    """Seconds for raw redis-py pipelined XADD of ``points`` line points in ``batch``-point entries."""
    client.delete(key)
    start = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    for lo in range(0, points, batch):
        n = min(batch, points - lo)
        pipe.xadd(key, {"v": "1", "k": "line", "n": str(n),
                        "t": array("q", range(T0 + lo, T0 + lo + n)).tobytes(),
                        "y": array("d", map(float, range(lo, lo + n))).tobytes()})
        if len(pipe) >= 1000:
            pipe.execute()
    pipe.execute()
    return time.perf_counter() - start


def sdk_add(points: int) -> float:
    """Seconds for ``Series.add`` per point until Redis has every point."""
    s = cb.series("bench.add")
    start = time.perf_counter()
    for i in range(points):
        s.add(float(i), time=T0 + i)
    assert cb.flush(120)
    return time.perf_counter() - start


def sdk_publish(points: int, batch: int) -> float:
    """Seconds for ``publish_points`` of ``batch``-point lists until Redis has every point."""
    times = list(range(T0, T0 + points))
    values = [float(i) for i in range(points)]
    start = time.perf_counter()
    for lo in range(0, points, batch):
        cb.publish_points("bench.publish", times[lo:lo + batch], values[lo:lo + batch])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        try:
            cb.configure(url=server.url, prefix="bench", run="bench")
            client = redis.Redis.from_url(server.url)

            plain, decorated = call_cost(args.calls)
            print(f"call cost: undecorated {plain:.0f} ns, @cb.chart {decorated:.0f} ns: "
                  f"+{decorated - plain:.0f} ns/call, ratio {decorated / plain:.2f}x")

            n = args.points
            raw_add_s = raw_xadd(client, "bench:raw:add", n, 5_000)  # ~ what one 5 ms flush gathers
            add_s = sdk_add(n)
            print(f"Series.add per point: {n / add_s:,.0f} points/s vs raw pipelined XADD (5000-point entries) "
                  f"{n / raw_add_s:,.0f} points/s: ratio {raw_add_s / add_s:.2f}")

            batch = 100_000
            raw_pub_s = raw_xadd(client, "bench:raw:publish", n, batch)
            pub_s = sdk_publish(n, batch)
            print(f"publish_points ({batch}-point batches): {n / pub_s:,.0f} points/s vs raw pipelined XADD "
                  f"{n / raw_pub_s:,.0f} points/s: ratio {raw_pub_s / pub_s:.2f}")
            print(f"dropped {cb.stats()['dropped']}, rejected {cb.stats()['rejected']}")
            print(json.dumps({"figures": [
                {"name": "python_decorated_call_ns", "value": round(decorated, 1), "unit": "ns",
                 "target": f"<= {round(plain) + 5000}", "baseline": round(plain, 1),
                 "baselineLabel": "the same undecorated call (target: at most 5 us more)"},
                {"name": "python_publish_points_per_s", "value": round(n / pub_s), "unit": "points/s",
                 "target": ">= 1000000", "baseline": round(n / raw_pub_s), "better": "higher",
                 "baselineLabel": f"raw redis-py pipelined XADD, {batch}-point entries"},
                {"name": "python_series_add_points_per_s", "value": round(n / add_s), "unit": "points/s",
                 "target": ">= 100000", "baseline": round(n / raw_add_s), "better": "higher",
                 "baselineLabel": "raw redis-py pipelined XADD, 5000-point entries"},
            ]}))
        finally:
            cb.configure(exit_timeout=5.0)
            server.stop()


if __name__ == "__main__":
    main()
