"""Producer benchmark: figures as ratios against baselines measured in the same run.

1. The cost of a decorated call against the same undecorated call (ns/call, overhead, ratio), for
   each decorator kind: ``@cb.chart`` of a float, a candlestick ``@cb.chart`` returning a Nautilus
   ``Bar``, ``@cb.ema``/``@cb.sma``/``@cb.bollinger``/``@cb.rsi`` of a ``Bar``, and Bollinger and
   RSI on one method. The integration clock is set before each call (both loops), as the Nautilus
   actor does in a backtest.
2. Points/s into Redis through the SDK (``Series.add`` per point, and ``publish_points`` in
   batches) against raw redis-py pipelined XADD of the same points, encoded the same way.

Starts its own private redis-server (free port, no persistence).
Run: ``.venv/bin/python python/bench/producer_bench.py [--points N]``
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import redis

import chartbridge as cb
from chartbridge.testing import RedisServer

T0 = 1_700_000_000_000_000_000
F = TypeVar("F", bound=Callable[..., Any])


def best_ns_per_call(fn: Callable[[Any], Any], inputs: list[Any], repeats: int = 5) -> float:
    """The best of ``repeats`` loops over ``inputs``, in ns per call (the least disturbed by a
    noisy machine). Each call runs at its own integration-clock time, later than the last."""
    best = float("inf")
    t = T0
    set_clock = cb.set_clock
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for x in inputs:
            t += 1
            set_clock(t)
            fn(x)
        best = min(best, (time.perf_counter_ns() - start) / len(inputs))
        cb.flush(60)
    cb.set_clock(None)
    return best


def bars(n: int) -> list[Any]:
    """``n`` real Nautilus 1-minute GBP/USD bars (a random walk, 5 decimals)."""
    from nautilus_trader.model.data import Bar, BarType
    from nautilus_trader.model.objects import Price, Quantity

    bar_type = BarType.from_str("GBP/USD.SIM-1-MINUTE-MID-EXTERNAL")
    rng = random.Random(15)
    close, out = 1.25, []
    for i in range(n):
        o = close
        close = round(o + rng.gauss(0, 0.0004), 5)
        hi, lo = max(o, close) + rng.random() * 0.0002, min(o, close) - rng.random() * 0.0002
        out.append(Bar(bar_type, *(Price(x, 5) for x in (o, hi, lo, close)), Quantity(1_000_000, 0),
                       T0 + i * 60_000_000_000, T0 + i * 60_000_000_000))
    return out


def identity(x: Any) -> Any:
    return x


def mid(x: float) -> float:
    return x * 0.5 + 1.0


# (figure name, what, decorator, function): the float one keeps the figure's historical name.
KINDS: list[tuple[str, str, Callable[[F], F], Callable[[Any], Any]]] = [
    ("python_decorated_call_ns", "@cb.chart of a float", cb.chart(name="bench.mid"), mid),
    ("python_candlestick_bar_call_ns", "candlestick @cb.chart of a Bar",
     cb.chart(name="bench.candles", kind="candlestick"), identity),
    ("python_ema_bar_call_ns", "@cb.ema(20) of a Bar", cb.ema(20, name="bench.bar"), identity),
    ("python_sma_bar_call_ns", "@cb.sma(20) of a Bar", cb.sma(20, name="bench.bar"), identity),
    ("python_bollinger_bar_call_ns", "@cb.bollinger(20, 2) of a Bar", cb.bollinger(20, 2.0, name="bench.bar"),
     identity),
    ("python_rsi_bar_call_ns", "@cb.rsi(14) of a Bar", cb.rsi(14, name="bench.bar"), identity),
    ("python_bollinger_rsi_bar_call_ns", "@cb.bollinger + @cb.rsi of a Bar, one method",
     lambda f: cb.bollinger(20, 2.0, name="bench.both")(cb.rsi(14, name="bench.both")(f)), identity),
]


def call_costs(calls: int) -> list[tuple[str, str, float, float]]:
    """(figure name, what, undecorated ns, decorated ns) per decorator kind."""
    floats, nbars = [float(i) for i in range(calls)], bars(calls)
    out = []
    for name, what, decorate, func in KINDS:
        inputs = floats if func is mid else nbars
        plain = best_ns_per_call(func, inputs)
        decorated = best_ns_per_call(decorate(func), inputs)
        out.append((name, what, plain, decorated))
    return out


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

            costs = call_costs(args.calls)
            for _, what, plain, decorated in costs:
                print(f"call cost, {what}: undecorated {plain:.0f} ns, decorated {decorated:.0f} ns: "
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
                *({"name": name, "value": round(decorated, 1), "unit": "ns",
                   "target": f"<= {round(plain) + 5000}", "baseline": round(plain, 1),
                   "baselineLabel": f"the same undecorated call ({what}; target: at most 5 us more)"}
                  for name, what, plain, decorated in costs),
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
