"""The orders a strategy sends from its ``on_stop`` on NautilusTrader 2 (the Rust engine): a real
backtest of the example, which closes its position when it stops, read back from a real Redis.

2.x stops actors before strategies and fills those orders after both, with no Python callback
after that: the actor leaves the run open at its stop and settles it (the late fills, the final
position, PnL, equity and statistics, then the end) at ``cb.flush()``, ``engine.reset()`` or
``dispose()``, the next run's start or interpreter exit (python/README.md, NautilusTrader 2).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from typing import Any

import pytest
import redis
from conftest import REPO, events, keys, read_points

import chartbridge as cb
from chartbridge.session import Settings
from chartbridge.testing import RedisServer

nautilus = pytest.importorskip("nautilus_trader")
if int(nautilus.__version__.split(".")[0]) < 2:
    pytest.skip(f"NautilusTrader 2 only (this venv has {nautilus.__version__})", allow_module_level=True)

from nautilus_trader.model import OrderFilled, Venue  # noqa: E402

sys.path.insert(0, str(REPO / "examples" / "nautilus-ema-cross"))
import ema_cross_v2 as ema_cross  # noqa: E402

from chartbridge.nautilus import ChartbridgeActor, ChartbridgeConfig  # noqa: E402

BARS = 600
INSTRUMENT = "EUR/USD.SIM"


def configure(url: str, run: str) -> None:
    cb.set_clock(None)
    cb.configure(**{**dataclasses.asdict(Settings()), "url": url, "prefix": "nt2stop", "run": run, "enabled": True,
                    "exit_timeout": 2.0})


def fills(engine: Any) -> list[Any]:
    return sorted((e for order in engine.cache.orders() for e in order.events() if isinstance(e, OrderFilled)),
                  key=lambda e: e.ts_event)


def status(r: redis.Redis, run: str) -> bytes | None:
    value: bytes | None = r.hget(keys(run).manifest, "status")
    return value


def test_the_fill_of_the_strategy_s_stop_and_the_final_state_are_charted(redis_server: RedisServer) -> None:
    r = redis.Redis.from_url(redis_server.url)
    configure(redis_server.url, "stop")
    engine, _ = ema_cross.build_engine(BARS, charted=False)  # the example: on_stop closes its position
    engine.add_actor(ChartbridgeActor())
    engine.run()
    every = fills(engine)
    closing = every[-1]
    assert len({str(f.client_order_id) for f in every if f.client_order_id == closing.client_order_id}) == 1
    # Between engine.run() and the settling: the run is open and shows what was charted until the
    # actor stopped, everything but the closing fill (handed over at the actor's stop).
    assert status(r, "stop") == b"running"
    assert read_points(r, f"fills:{INSTRUMENT}", "stop")[0] == [f.ts_event for f in every[:-1]]
    assert cb.flush(10) and cb.stats()["rejected"] == 0
    # The closing fill's marker, and the position it leaves: none.
    times, cols = read_points(r, f"fills:{INSTRUMENT}", "stop")
    assert times == [f.ts_event for f in every]
    assert cols["m"][-1]["side"] == str(closing.order_side).lower()
    assert cols["m"][-1]["text"] == f"{closing.order_side} 100000 @ {closing.last_px} {closing.position_id}"
    position_times, position = read_points(r, f"position:{INSTRUMENT}", "stop")
    assert position_times[-1] == closing.ts_event and position["y"][-1] == 0.0 and position["y"][-2] != 0.0
    assert not engine.cache.positions_open(None, None)
    # The last PnL and equity points are the engine's after the run: no open PnL, the account's balance.
    last_bar = ema_cross.synthetic_bars(BARS)[-1].ts_event
    pnl_times, pnl = read_points(r, f"unrealized_pnl:{INSTRUMENT}", "stop")
    assert pnl_times[-1] == last_bar == closing.ts_event and pnl["y"][-1] == 0.0 and pnl["y"][-2] != 0.0
    balance = {c.code: float(m.as_decimal()) for c, m in engine.cache.account_for_venue(Venue("SIM")).balances_total(
    ).items()}
    equity_times, equity = read_points(r, "equity:SIM:USD", "stop")
    assert equity_times == pnl_times and equity["y"][-1] == balance["USD"]
    _, drawdown = read_points(r, "drawdown:SIM:USD", "stop")
    assert drawdown["y"][-1] == (balance["USD"] / max(equity["y"]) - 1.0) * 100.0
    # The statistics are the backtest result's, the returns of the last day included.
    result = engine.get_result()
    expected = ({f"{n} (USD)": v for n, v in result.stats_pnls["USD"].items()} | result.stats_general
                | result.stats_returns)
    body = json.loads(r.get(keys("stop").results) or b"")
    stats = {name.removeprefix("SIM-001 | "): value for name, value in body["stats"].items()}
    assert stats == {n: v if math.isfinite(v) else str(v) for n, v in expected.items()}
    assert body["trades"][-1]["exit_t"] == str(closing.ts_event)
    assert events(r, "stop")[-2:] == [("results", {}), ("end", {})] and status(r, "stop") == b"ended"
    engine.dispose()
    r.close()


@pytest.mark.parametrize("settle", ["dispose", "reset", "next run"])
def test_the_run_is_settled_at_the_engine_s_dispose_its_reset_or_the_next_run(redis_server: RedisServer,
                                                                               settle: str) -> None:
    r = redis.Redis.from_url(redis_server.url)
    run = f"stop-{settle.replace(' ', '-')}"
    configure(redis_server.url, run)
    engine, _ = ema_cross.build_engine(BARS, charted=False)
    engine.add_actor(ChartbridgeActor())
    engine.run()
    every = fills(engine)
    if settle == "dispose":
        engine.dispose()
    elif settle == "reset":
        engine.reset()
    else:  # another backtest in the same process, with its own run
        other, _ = ema_cross.build_engine(50, charted=False)
        actor = ChartbridgeActor(ChartbridgeConfig(run=f"{run}-2"))
        other.add_actor(actor)
        other.run()
        # The first run was settled when the second started: only the second's settling waits.
        assert [settler.__self__ for settler in cb.session.current().settlers] == [actor]
        other.dispose()
    assert cb.flush(10) and cb.stats()["rejected"] == 0
    # engine.reset() clears the cache before the actor hears of it: the closing fill is gone, the
    # run ends as the actor's stop left it, with the results of then (python/README.md).
    charted = every[:-1] if settle == "reset" else every
    assert read_points(r, f"fills:{INSTRUMENT}", run)[0] == [f.ts_event for f in charted]
    assert (read_points(r, f"position:{INSTRUMENT}", run)[1]["y"][-1] == 0.0) is (settle != "reset")
    assert json.loads(r.get(keys(run).results) or b"")["stats"]
    assert events(r, run)[-2:] == [("results", {}), ("end", {})] and status(r, run) == b"ended"
    if settle != "dispose":
        engine.dispose()
    r.close()
