"""What the SDK itself costs the strategy in each shape of the overhead matrix
(``nautilus_overhead.py``): per-call costs of the decorator calls the shapes make, and the fixed
costs of a run's start and end.

    .venv/bin/python python/bench/sdk_costs.py [--calls N] [--rounds R] [--only KIND ...]

1. Per call, as the shapes call them: methods of a strategy object on real Nautilus ``Bar``
   objects, the integration clock a callable (the actor sets ``self.clock.timestamp_ns``). Each
   kind is timed against the same undecorated method in the same round (process CPU time, the
   best of ``--rounds``), so the figure is what the decoration adds.
2. Fixed: importing ``chartbridge`` in a fresh process (against ``python -c pass``), and a run's
   start and end through the SDK: the first decorated call (connect, register its series,
   the run's manifest and identity), then ``cb.flush`` until Redis holds every point.

Starts its own private redis-server (free port, no persistence).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy

import chartbridge as cb
from chartbridge.testing import RedisServer
from producer_bench import T0, bars  # real Nautilus bars

def strategy(charted: bool) -> Any:
    """An object with the shapes' charted methods (``overhead_shapes.MeanReversion``, ``FillHeavy``),
    decorated or not."""
    from nautilus_trader.model.enums import OrderSide

    def deco(d: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return d if charted else (lambda f: f)

    class Shapes:
        @deco(cb.chart(kind="candlestick", pane="candles"))
        def candle(self, bar: Any) -> Any:
            return bar

        @deco(cb.bollinger(20, 2.0))
        @deco(cb.rsi(14))
        def price(self, bar: Any) -> float:
            return float(bar.close.as_double())

        @deco(cb.ema(50))
        def mid(self, bar: Any) -> float:
            return float((bar.high.as_double() + bar.low.as_double()) / 2)

        @deco(cb.chart)
        def line(self, bar: Any) -> float:
            return float(bar.close.as_double())

        # The everyday shape's forms: Nautilus values returned as they are, a cb.series assigned.
        @deco(cb.chart)
        def close(self, bar: Any) -> Any:
            return bar.close

        @deco(cb.chart(kind="candlestick", pane="tuples"))
        def ohlc(self, bar: Any) -> tuple[Any, ...]:
            return (bar.open, bar.high, bar.low, bar.close, bar.volume)

        @deco(cb.chart(kind="histogram", pane="volume"))
        def volume(self, bar: Any) -> Any:
            return bar.volume

        @deco(cb.chart)
        def count(self, bar: Any) -> int:
            return int(bar.ts_event // 60_000_000_000)

        @deco(cb.chart)
        def scalar(self, bar: Any) -> Any:
            return numpy.float64(bar.close.as_double())

        @deco(cb.chart)
        def decimal(self, bar: Any) -> Decimal:
            return bar.close.as_decimal()

        @deco(cb.chart(kind="candlestick", pane="dicts"))
        def mapping(self, bar: Any) -> dict[str, float]:
            return {"open": bar.open.as_double(), "high": bar.high.as_double(), "low": bar.low.as_double(),
                    "close": bar.close.as_double()}

        def add(self, bar: Any) -> None:
            if charted:
                EQUITY.add(bar.close.as_double())

        level = cb.series(kind="line") if charted else None

        def assign(self, bar: Any) -> None:
            self.level = bar.close.as_double()

        @deco(cb.signals)
        def signal(self, bar: Any) -> str | None:
            return None

        def fill(self, bar: Any) -> None:
            if charted:
                cb.marker("fills", side=OrderSide.BUY, price=bar.close, text=f"fill {bar.volume}")
            else:
                f"fill {bar.volume}"  # noqa: B018  # the text the charted call builds

    return Shapes()


# kind -> what it is, which method of ``strategy`` it calls
KINDS = {
    "line": "float @cb.chart (ema_cross-like)",
    "candle": "candlestick @cb.chart returning the Bar (indicator_heavy, short)",
    "price": "@cb.bollinger(20, 2) + @cb.rsi(14) on one method of a float (indicator_heavy, short)",
    "mid": "@cb.ema(50) of a float (indicator_heavy, short)",
    "fill": "cb.marker with an OrderSide, a Price and a text (fill_heavy)",
    "close": "@cb.chart returning the bar's close, a Nautilus Price (everyday)",
    "ohlc": "candlestick @cb.chart returning a tuple of the bar's Prices and Quantity (everyday)",
    "assign": "a cb.series assigned a float (everyday)",
    "signal": "@cb.signals returning None, as on most bars (everyday)",
    "volume": "histogram @cb.chart returning the bar's volume, a Nautilus Quantity",
    "count": "@cb.chart returning an int",
    "scalar": "@cb.chart returning a numpy float64",
    "decimal": "@cb.chart returning a Decimal",
    "mapping": "candlestick @cb.chart returning a dict",
    "add": "Series.add of a float",
}
EQUITY = cb.series("costs.equity", pane="equity")


def loop(obj: Any, kind: str, inputs: list[Any]) -> float:
    """Process CPU seconds of one call of ``kind`` per input."""
    method = getattr(type(obj), kind)
    start = time.process_time()
    for bar in inputs:
        method(obj, bar)
    return time.process_time() - start


def per_call(calls: int, rounds: int, only: list[str]) -> None:
    inputs = bars(calls)
    for kind in only:
        plain, charted = strategy(False), strategy(True)
        base, cost = [], []
        for _ in range(rounds):
            cb.set_clock(itertools.count(T0).__next__)
            cb.configure(run=f"costs-{kind}-{time.time_ns()}")  # a new run: the series start empty
            base.append(loop(plain, kind, inputs))
            cost.append(loop(charted, kind, inputs))
            cb.flush(60)
        b, c = min(base) / calls * 1e9, min(cost) / calls * 1e9
        print(f"{kind:7s} {KINDS[kind]}: {b:6.0f} ns undecorated, {c:6.0f} ns charted: +{c - b:5.0f} ns/call "
              f"(median over rounds +{statistics.median(cost) / calls * 1e9 - statistics.median(base) / calls * 1e9:.0f})")
    cb.set_clock(None)


def fixed(rounds: int) -> None:
    """Import time in fresh processes, and a run's start and end in this one."""
    imports, empty = [], []
    for _ in range(rounds):
        for out, code in ((imports, "import chartbridge"), (empty, "pass")):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            out.append(time.perf_counter() - started)
    print(f"import chartbridge: +{(min(imports) - min(empty)) * 1e3:.1f} ms over an empty interpreter "
          f"(best of {rounds}; wall)")
    import chartbridge.nautilus  # noqa: F401  # as in a backtest (the actor): the first Bar does not import it
    obj, b = strategy(True), bars(1)[0]
    starts, ends = [], []
    for _ in range(rounds):
        cb.configure(run=f"costs-fixed-{time.time_ns()}")
        cb.set_clock(itertools.count(T0).__next__)
        w, c = time.perf_counter(), time.process_time()
        type(obj).candle(obj, b)  # the run's first point: connect, manifest, identity, register
        starts.append((time.perf_counter() - w, time.process_time() - c))
        w, c = time.perf_counter(), time.process_time()
        assert cb.flush(60)
        ends.append((time.perf_counter() - w, time.process_time() - c))
    for what, xs in (("run start (first point)", starts), ("final cb.flush", ends)):
        print(f"{what}: {statistics.median(x[0] for x in xs) * 1e3:.1f} ms wall, "
              f"{statistics.median(x[1] for x in xs) * 1e3:.1f} ms CPU (median of {rounds})")
    cb.set_clock(None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", action="append", choices=sorted(KINDS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        try:
            cb.configure(url=server.url, prefix="costs", enabled=True)
            per_call(args.calls, args.rounds, args.only or list(KINDS))
            fixed(args.rounds)
        finally:
            cb.configure(exit_timeout=5.0)
            server.stop()


if __name__ == "__main__":
    main()
