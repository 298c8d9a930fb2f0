"""Run the EMA-cross backtest and chart it: ``.venv/bin/python examples/nautilus-ema-cross/run.py``.

Redis: ``CHARTBRIDGE_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``). Bars: ``--bars N``
(default 5,000 one-minute bars). Open the run in the Chartbridge panel (or the server's page).
"""

from __future__ import annotations

import argparse
import time

import chartbridge as cb
from chartbridge.nautilus import ChartbridgeActor
from chartbridge.session import current
from ema_cross import build_engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=5_000)
    args = parser.parse_args()
    started = time.perf_counter()
    engine, _ = build_engine(args.bars)
    engine.run()
    delivered = cb.flush(10.0)
    actor = next(a for a in engine.trader.actors() if isinstance(a, ChartbridgeActor))
    stats = cb.stats()
    print(f"{args.bars} bars in {time.perf_counter() - started:.1f} s: run {actor.run_id!r} "
          f"{'in' if delivered else 'NOT delivered to'} Redis at {current().settings.url} "
          f"({stats['entries']} entries, {stats['rejected']} rejected)")
    engine.dispose()


if __name__ == "__main__":
    main()
