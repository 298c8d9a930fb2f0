"""A real NautilusTrader backtest driven by ticks alone (no bars), charted by ``ChartbridgeActor``.

The strategies (python/bench/tick_backtest.py) trade EUR/USD on quote ticks only, or on trade
ticks only, and note every tick they handled and Nautilus's own unrealized PnL and equity after
each tick and at each position event; the tests compare what reached Redis with those, value by value.
"""

from __future__ import annotations

import sys
from array import array
from typing import Any

import pytest
import redis
from conftest import REPO, nautilus_1x_only, read_points, registry

import chartbridge as cb

nautilus_1x_only("the 2.x actor does not chart ticks yet")

sys.path.insert(0, str(REPO / "python" / "bench"))
import tick_backtest  # noqa: E402

from nautilus_trader.model.events import OrderFilled  # noqa: E402

from nautilus_trader.model.data import QuoteTick  # noqa: E402
from nautilus_trader.test_kit.providers import TestInstrumentProvider  # noqa: E402

from chartbridge.nautilus import ChartbridgeActor, ChartbridgeConfig, recorder  # noqa: E402

TICKS = 3_000
INTERVAL = 60.0  # the default tick_sample_interval, s
INSTRUMENT = "EUR/USD.SIM"


def run(kind: str, batch: int) -> tuple[Any, tick_backtest.TickCross]:
    config = ChartbridgeConfig(backtest_batch=batch)
    engine, strategy = tick_backtest.build_engine(TICKS, kind, actor=ChartbridgeActor(config), record=True)
    engine.run()
    assert cb.flush(10)
    return engine, strategy


def expected_samples(strategy: tick_backtest.TickCross, fills: list[int],
                     interval_ns: int) -> list[tuple[int, float, float]]:
    """The PnL and equity points expected, from what Nautilus told the strategy: the last tick of
    each interval and the last tick not charted yet before each fill (its value after the tick
    was handled), and each position event (its value then), in time order."""
    ticks = [(tick.ts_event, *value) for tick, value in zip(strategy.seen, strategy.after_ticks)]
    events = list(strategy.at_positions)  # in the order Nautilus published them
    fill_times = iter(sorted(set(fills)))
    points: list[tuple[int, float, float]] = []
    pending: tuple[int, float, float] | None = None
    next_fill = next(fill_times, None)
    for point in ticks + [(2**63, 0.0, 0.0)]:
        while next_fill is not None and next_fill < point[0]:  # a fill after the pending tick's handling
            if pending is not None:
                points.append(pending)
                pending = None
            while events and events[0][0] == next_fill:
                points.append(events.pop(0))
            next_fill = next(fill_times, None)
        if pending is not None and point[0] // interval_ns != pending[0] // interval_ns:
            points.append(pending)
        pending = point
    return points + events


# A batch of 64 hands ticks over mid-run, between fills; the default (5,000) only at fills and the end.
# "PyTickRecorder": the compiled recorder's Python twin charts the same.
@pytest.mark.parametrize("kind,batch,implementation", [
    ("quotes", 5000, "TickRecorder"), ("quotes", 64, "TickRecorder"), ("trades", 64, "TickRecorder"),
    ("quotes", 64, "PyTickRecorder"), ("trades", 64, "PyTickRecorder")])
def test_a_tick_run_charts_its_ticks_fills_positions_pnl_and_equity(r: redis.Redis, monkeypatch: pytest.MonkeyPatch,
                                                                    kind: str, batch: int, implementation: str) -> None:
    assert recorder.COMPILED, recorder.WHY_PURE
    monkeypatch.setattr(recorder, "TickRecorder", getattr(recorder, implementation))
    engine, strategy = run(kind, batch)
    series = sorted(name.decode() for name in r.hkeys(f"{cb.session.current().settings.prefix}:{{testrun}}:series"))
    prices = [f"ask:{INSTRUMENT}", f"bid:{INSTRUMENT}"] if kind == "quotes" else [f"trades:{INSTRUMENT}"]
    assert series == sorted(prices + ["drawdown:SIM:USD", "equity:SIM:USD", f"fills:{INSTRUMENT}",
                                      f"position:{INSTRUMENT}", f"unrealized_pnl:{INSTRUMENT}"])
    assert len(strategy.seen) == TICKS
    times = [tick.ts_event for tick in strategy.seen]
    # Every tick the strategy saw, at its exact decimal, on the main pane at the instrument's precision.
    columns = ({f"bid:{INSTRUMENT}": "bid_price", f"ask:{INSTRUMENT}": "ask_price"} if kind == "quotes"
               else {f"trades:{INSTRUMENT}": "price"})
    for name, attribute in columns.items():
        t, cols = read_points(r, name)
        assert t == times
        assert cols["y"] == [float(str(getattr(tick, attribute))) for tick in strategy.seen]
        assert registry(r, name)["pane"] == "main"
        assert registry(r, name)["options"]["priceFormat"] == {"type": "price", "precision": 5, "minMove": 1e-05}
    # Fill markers draw on the ticks: one per order per time (an order's partial fills at one time are one).
    fills = [e for e in engine.cache.orders() for e in e.events if isinstance(e, OrderFilled)]
    t, cols = read_points(r, f"fills:{INSTRUMENT}")
    assert len(fills) > 50 and t == sorted(t for _, t in {(f.client_order_id, f.ts_event) for f in fills})
    assert registry(r, f"fills:{INSTRUMENT}")["target"] == (f"trades:{INSTRUMENT}" if kind == "trades"
                                                           else f"bid:{INSTRUMENT}")
    # PnL and equity: Nautilus's own values, sampled.
    fill_times = sorted({f.ts_event for f in fills})
    expected = expected_samples(strategy, fill_times, int(INTERVAL * 1e9))
    # The strategy closes its position when it stops, at the last tick's time, when it sees no
    # more events: that point is flat, its equity the final balance.
    assert fill_times[-1] == times[-1] > strategy.at_positions[-1][0]
    account = engine.cache.account_for_venue(tick_backtest.VENUE)
    expected.append((times[-1], 0.0, float(account.balance_total(tick_backtest.USD).as_decimal())))
    pnl_t, pnl = read_points(r, f"unrealized_pnl:{INSTRUMENT}")
    equity_t, equity = read_points(r, "equity:SIM:USD")
    assert pnl_t == [t for t, _, _ in expected] and equity_t == pnl_t
    assert pnl["y"] == [v for _, v, _ in expected]
    assert equity["y"] == [e for _, _, e in expected]
    assert sum(v != 0 for v in pnl["y"]) > len(expected) * 0.3  # not a flat line: priced between fills
    # Bounded: one per minute of ticks, one before each fill time and one per position event.
    minutes = (times[-1] // int(60e9)) - (times[0] // int(60e9)) + 1
    assert len(pnl_t) <= minutes + len(fill_times) + len(strategy.at_positions) + 1 < TICKS / 5
    assert cb.stats()["rejected"] == 0
    engine.dispose()


def test_an_instrument_with_bars_keeps_its_pnl_per_bar_and_gets_its_quotes_on_the_bars_pane(r: redis.Redis) -> None:
    sys.path.insert(0, str(REPO / "examples" / "nautilus-ema-cross"))
    import ema_cross

    class WithQuotes(ema_cross.EMACross):
        def on_start(self) -> None:
            super().on_start()
            self.subscribe_quote_ticks(self.config.instrument_id)

    engine, strategy = ema_cross.build_engine(300, charted=False, strategy_class=WithQuotes)
    quotes = tick_backtest.ticks(engine.cache.instrument(strategy.config.instrument_id), 2_000, "quotes")
    engine.add_data(quotes)
    engine.add_actor(ChartbridgeActor())
    engine.run()
    assert cb.flush(10)
    bar_series = ema_cross.BAR_TYPE
    series = sorted(name.decode() for name in r.hkeys(f"{cb.session.current().settings.prefix}:{{testrun}}:series"))
    assert series == sorted(["EMACross.ema_gap", bar_series, "WithQuotes-000.fast_ema", "WithQuotes-000.slow_ema",
                             "drawdown:SIM:USD", "equity:SIM:USD", f"fills:{INSTRUMENT}", f"position:{INSTRUMENT}",
                             f"unrealized_pnl:{INSTRUMENT}", f"bid:{INSTRUMENT}", f"ask:{INSTRUMENT}"])
    bar_times, _ = read_points(r, bar_series)
    pnl_times, _ = read_points(r, f"unrealized_pnl:{INSTRUMENT}")
    assert len(bar_times) == 300 and pnl_times == bar_times  # per bar, as without quotes
    bid_times, bid = read_points(r, f"bid:{INSTRUMENT}")
    assert bid_times == [q.ts_event for q in quotes]
    assert bid["y"] == [float(str(q.bid_price)) for q in quotes]
    assert registry(r, f"bid:{INSTRUMENT}")["pane"] == registry(r, bar_series)["pane"] == "main"
    assert registry(r, f"fills:{INSTRUMENT}")["target"] == bar_series
    assert cb.stats()["rejected"] == 0
    engine.dispose()


def test_the_compiled_tick_recorder_and_its_twin_keep_the_same_lines_and_samples_of_mixed_ticks() -> None:
    """Quotes and trades of one instrument interleaved: every price as ``float(str(x))``, and one
    sample (time, last quote, last trade) at the last tick of each interval, in both recorders."""
    instrument = TestInstrumentProvider.default_fx_ccy("EUR/USD")
    mixed = sorted(tick_backtest.ticks(instrument, 1500, "quotes") + tick_backtest.ticks(instrument, 1500, "trades", 5),
                   key=lambda tick: tick.ts_event)
    kept = []
    for implementation in (recorder.TickRecorder, recorder.PyTickRecorder):
        batches: list[int] = []
        arrays = [array("q"), array("d"), array("q"), array("d"), array("q"), array("d")]

        def on_batch() -> None:
            batches.append(rec.pending)
            rec.pending = 0
        rec = implementation(on_batch, lambda: pytest.fail("a tick failed"), 100, int(INTERVAL * 1e9))
        rec.take_quotes(*arrays[:4])
        rec.take_trades(*arrays[4:])
        for tick in mixed:
            rec.record(tick)
        kept.append((arrays, [(t, id(q), id(tr)) for t, q, tr in rec.samples], rec.last, rec.quote, rec.trade,
                     batches))
    assert kept[0] == kept[1]
    arrays, samples, last, quote, trade, batches = kept[0]
    quotes = [k for k in mixed if isinstance(k, QuoteTick)]
    trades = [k for k in mixed if not isinstance(k, QuoteTick)]
    assert list(arrays[0]) == list(arrays[2]) == [q.ts_event for q in quotes]
    assert list(arrays[1]) == [float(str(q.bid_price)) for q in quotes]
    assert list(arrays[3]) == [float(str(q.ask_price)) for q in quotes]
    assert list(arrays[4]) == [k.ts_event for k in trades] and list(arrays[5]) == [float(str(k.price)) for k in trades]
    interval = int(INTERVAL * 1e9)
    ends = [i for i in range(len(mixed) - 1) if mixed[i].ts_event // interval != mixed[i + 1].ts_event // interval]
    assert len(ends) > 20 and [t for t, _, _ in samples] == [mixed[i].ts_event for i in ends]
    assert [(q, tr) for _, q, tr in samples] == [
        (id(next(k for k in reversed(mixed[:i + 1]) if isinstance(k, QuoteTick))),
         id(next(k for k in reversed(mixed[:i + 1]) if not isinstance(k, QuoteTick)))) for i in ends]
    assert (last, quote, trade) == (mixed[-1], quotes[-1], trades[-1]) and batches == [100] * (len(mixed) // 100)


@pytest.mark.parametrize("implementation", ["TickRecorder", "PyTickRecorder"])
def test_a_tick_recorder_reports_what_it_cannot_record_instead_of_raising(implementation: str) -> None:
    errors: list[str] = []
    rec = getattr(recorder, implementation)(lambda: None, lambda: errors.append(str(sys.exc_info()[1])), 10, 0)
    rec.take_trades(array("q"), array("d"))
    rec.record(object())
    instrument = TestInstrumentProvider.default_fx_ccy("EUR/USD")
    rec.record(tick_backtest.ticks(instrument, 1, "quotes")[0])  # no quote lines were taken
    assert errors == ["a object is not a tick this recorder takes", "a QuoteTick is not a tick this recorder takes"]
