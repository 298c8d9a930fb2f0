"""Run the EMA-cross backtest and chart it: ``.venv/bin/python examples/nautilus-ema-cross/run.py``.

Redis: ``CHARTBRIDGE_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``). Bars: ``--bars N``
(default 5,000 one-minute bars). Open the run in the Chartbridge panel (or the server's page).
"""

from __future__ import annotations

import argparse
import importlib
import time

import chartbridge as cb
from chartbridge.nautilus import ChartbridgeActor
from chartbridge.nautilus.compat import V2
from chartbridge.session import current

# The example in the installed NautilusTrader line's API (2.x: ema_cross_v2.py).
build_engine = importlib.import_module("ema_cross_v2" if V2 else "ema_cross").build_engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=5_000)
    args = parser.parse_args()
    started = time.perf_counter()
    engine, _ = build_engine(args.bars, charted=False)
    actor = ChartbridgeActor()
    engine.add_actor(actor)
    engine.run()
    delivered = cb.flush(10.0)
    stats = cb.stats()
    print(f"{args.bars} bars in {time.perf_counter() - started:.1f} s: run {actor.run_id!r} "
          f"{'in' if delivered else 'NOT delivered to'} Redis at {current().settings.url} "
          f"({stats['entries']} entries, {stats['rejected']} rejected)")
    engine.dispose()


if __name__ == "__main__":
    main()
