"""A real NautilusTrader 2 backtest (the Rust engine) charted by ``ChartbridgeActor``: what reaches
Redis, compared value by value with what the strategy and Nautilus themselves saw.

The 2.x twin of test_nautilus.py: the example (``examples/nautilus-ema-cross/ema_cross_v2.py``),
EMA(10/20) cross on 3,000 synthetic one-minute bars. It runs in the NautilusTrader 2 venv
(``scripts/venv-nt2.sh``; ``scripts/test-all.sh`` runs it there); in a 1.x venv this module is
skipped, as test_nautilus.py is in a 2.x one.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from conftest import REPO, EquitySeen, events, keys, read_points, registry, run_and_compare_equity

import chartbridge as cb
from chartbridge.session import Settings
from chartbridge.testing import RedisServer

nautilus = pytest.importorskip("nautilus_trader")
if int(nautilus.__version__.split(".")[0]) < 2:
    pytest.skip(f"NautilusTrader 2 only (this venv has {nautilus.__version__}): run it with scripts/venv-nt2.sh's "
                "python", allow_module_level=True)

from nautilus_trader.indicators import BollingerBands, ExponentialMovingAverage  # noqa: E402
from nautilus_trader.model import (AggressorSide, BarType, Currency, InstrumentId, Money, OrderFilled,  # noqa: E402
                                   Price, Quantity, QuoteTick, TradeId, TradeTick)

sys.path.insert(0, str(REPO / "examples" / "nautilus-ema-cross"))
import ema_cross_v2 as ema_cross  # noqa: E402

from chartbridge.nautilus import ChartbridgeActor, ChartbridgeConfig, recorder, v2  # noqa: E402

BARS = 3_000
BATCH = 700  # bars the actor gathers before handing their points to the SDK: several hand-overs in the run
BAR_SERIES = ema_cross.BAR_TYPE


class SeesEverything(ema_cross.EMACross):
    """The example, keeping what it saw at each bar: the bar, both EMAs and the open positions'
    unrealized PnL at the close (the holdout the charted values are compared with)."""

    def __init__(self, config: ema_cross.EMACrossConfig) -> None:
        super().__init__(config)
        self.seen: list[tuple[int, float, float, float]] = []
        self.pnl: list[tuple[int, float]] = []

    def on_bar(self, bar: Any) -> None:
        self.seen.append((bar.ts_event, float(str(bar.close)), self.fast_ema.value if self.fast_ema.initialized
                          else math.nan, self.slow_ema.value if self.slow_ema.initialized else math.nan))
        positions = self.cache.positions_open(None, self.instrument_id)
        self.pnl.append((bar.ts_event, sum(float(p.unrealized_pnl(bar.close).as_decimal()) for p in positions)))
        super().on_bar(bar)

    def on_stop(self) -> None:
        """Keeps the last position open: the values compared are the bars' (the fills of orders
        sent here are test_nautilus2_stop.py's)."""


@pytest.fixture(scope="module")
def backtest(redis_server: RedisServer) -> Iterator[SimpleNamespace]:
    """The example backtest, run once; the Redis client, the engine, the strategy and its bars."""
    client = redis.Redis.from_url(redis_server.url)
    cb.set_clock(None)
    defaults = dataclasses.asdict(Settings())
    cb.configure(**{**defaults, "url": redis_server.url, "prefix": "nt2", "run": "nt", "enabled": True,
                    "exit_timeout": 2.0})
    engine, strategy = ema_cross.build_engine(BARS, strategy_class=SeesEverything, charted=False)
    engine.add_actor(ChartbridgeActor(ChartbridgeConfig(backtest_batch=BATCH)))
    engine.run()
    assert cb.stats()["rejected"] == 0
    assert cb.flush(10)
    yield SimpleNamespace(r=client, engine=engine, strategy=strategy, bars=ema_cross.synthetic_bars(BARS))
    engine.dispose()
    cb.configure(exit_timeout=0.5)
    client.close()


def fills(engine: Any) -> list[Any]:
    return sorted((e for order in engine.cache.orders() for e in order.events() if isinstance(e, OrderFilled)),
                  key=lambda e: e.ts_event)


def test_the_2x_actor_and_the_python_recorder_are_the_ones_in_use() -> None:
    assert ChartbridgeActor is v2.ChartbridgeActor
    assert not recorder.COMPILED and "has no C structs" in recorder.WHY_PURE


def test_one_candle_per_bar_with_the_exact_prices(backtest: SimpleNamespace) -> None:
    times, cols = read_points(backtest.r, BAR_SERIES, "nt")
    bars = backtest.bars
    assert len(times) == BARS and times == [b.ts_event for b in bars]
    assert cols == {"o": [float(str(b.open)) for b in bars], "h": [float(str(b.high)) for b in bars],
                    "l": [float(str(b.low)) for b in bars], "c": [float(str(b.close)) for b in bars],
                    "vol": [float(str(b.volume)) for b in bars]}
    # The strategy saw the same bars.
    assert [(t, c) for t, c, _, _ in backtest.strategy.seen] == list(zip(times, cols["c"]))
    entry = registry(backtest.r, BAR_SERIES, "nt")
    assert (entry["kind"], entry["pane"]) == ("candlestick", "main")
    assert entry["options"] == {"priceFormat": {"type": "price", "precision": 5, "minMove": 0.00001}}


@pytest.mark.parametrize("name, period, column", [("fast_ema", 10, 2), ("slow_ema", 20, 3)])
def test_ema_values_equal_what_the_strategy_saw_at_each_bar(backtest: SimpleNamespace, name: str, period: int,
                                                             column: int) -> None:
    series = f"EMACross-000.{name}"
    times, cols = read_points(backtest.r, series, "nt")
    saw = [(row[0], row[column]) for row in backtest.strategy.seen if not math.isnan(row[column])]
    assert len(times) == BARS - period + 1
    assert list(zip(times, cols["y"])) == saw
    # And Nautilus's own indicator fed the same bars.
    ema = ExponentialMovingAverage(period)
    expected = []
    for bar in backtest.bars:
        ema.handle_bar(bar)
        if ema.initialized:
            expected.append(ema.value)
    assert cols["y"] == expected
    entry = registry(backtest.r, series, "nt")
    assert (entry["pane"], entry["title"]) == ("main", f"{name} ExponentialMovingAverage({period})")


def test_one_marker_per_fill_with_its_price_side_and_text(backtest: SimpleNamespace) -> None:
    expected = fills(backtest.engine)
    times, cols = read_points(backtest.r, "fills:EUR/USD.SIM", "nt")
    assert len(expected) > 100 and len(times) == len(expected)
    assert times == [f.ts_event for f in expected]
    assert cols["y"] == [float(str(f.last_px)) for f in expected]
    assert [m["side"] for m in cols["m"]] == [str(f.order_side).lower() for f in expected]
    first = expected[0]
    assert cols["m"][0]["text"] == f"{first.order_side} 100000 @ {first.last_px} EUR/USD.SIM-EMACross-000"
    # A reversal: the close and the new entry at one time, two orders: two markers (SPEC section 3), in order.
    assert times[1] == times[2] and expected[1].client_order_id != expected[2].client_order_id
    assert [m["text"] for m in cols["m"][1:3]] == [
        f"{e.order_side} 100000 @ {e.last_px} EUR/USD.SIM-EMACross-000" for e in expected[1:3]]
    assert registry(backtest.r, "fills:EUR/USD.SIM", "nt")["target"] == BAR_SERIES


def test_positions_pnl_equity_and_drawdown(backtest: SimpleNamespace) -> None:
    r, strategy = backtest.r, backtest.strategy
    position_times, position = read_points(r, "position:EUR/USD.SIM", "nt")
    expected = fills(backtest.engine)
    net, nets = 0.0, []
    for f in expected:
        net += float(str(f.last_qty)) * (1 if str(f.order_side) == "BUY" else -1)
        nets.append(net)
    assert position_times == [f.ts_event for f in expected] and position["y"] == nets
    assert set(nets) == {-100_000.0, 0.0, 100_000.0}
    # The unrealized PnL of each bar is what the strategy's open positions were worth at its close.
    pnl_times, pnl = read_points(r, "unrealized_pnl:EUR/USD.SIM", "nt")
    assert list(zip(pnl_times, pnl["y"])) == strategy.pnl
    times, equity = read_points(r, "equity:SIM:USD", "nt")
    assert times == pnl_times and equity["y"][0] == 1_000_000.0
    # Equity is the balance plus the PnL; the balance moves only with fills, and ends at the account's.
    balance = [round(e - p, 2) for e, p in zip(equity["y"], pnl["y"])]
    moves = {times[i] for i in range(1, len(times)) if balance[i] != balance[i - 1]}
    assert moves and moves <= {f.ts_event + 60_000_000_000 for f in expected}
    _, drawdown = read_points(r, "drawdown:SIM:USD", "nt")
    peaks = [max(equity["y"][: i + 1]) for i in range(len(equity["y"]))]
    assert drawdown["y"] == [(e / p - 1.0) * 100.0 for e, p in zip(equity["y"], peaks)]

    def price_format(precision: int, min_move: float) -> dict[str, Any]:
        return {"type": "price", "precision": precision, "minMove": min_move}
    assert registry(r, "position:EUR/USD.SIM", "nt")["options"] == {"lineType": 1, "priceFormat": price_format(0, 1.0)}
    assert registry(r, "equity:SIM:USD", "nt")["options"] == {"priceFormat": price_format(2, 0.01), "unit": "USD"}
    assert registry(r, "drawdown:SIM:USD", "nt")["options"] == {"priceFormat": price_format(2, 0.01), "unit": "%"}
    assert registry(r, "unrealized_pnl:EUR/USD.SIM", "nt")["options"] == {"priceFormat": price_format(2, 0.01),
                                                                           "unit": "USD"}


def test_results_are_the_backtest_statistics_and_the_closed_positions(backtest: SimpleNamespace) -> None:
    k = keys("nt")
    body = json.loads(backtest.r.get(k.results) or b"")
    # The statistics the backtest's result reports, per account (SPEC section 8). The returns are
    # the portfolio's at the actor's stop, which lack the last day's (the engine adds it after).
    result = backtest.engine.get_result()
    expected = {f"{n} (USD)": v for n, v in result.stats_pnls["USD"].items()} | result.stats_general
    assert len(expected) == 11
    stats = {name.removeprefix("SIM-001 | "): value for name, value in body["stats"].items()}
    assert stats.keys() == expected.keys() | result.stats_returns.keys()
    assert {n: stats[n] for n in expected} == {n: v if math.isfinite(v) else str(v) for n, v in expected.items()}
    engine = backtest.engine
    closed = sorted((p for p in engine.cache.position_snapshots(None, None) + engine.cache.positions()
                     if p.is_closed), key=lambda p: p.ts_opened)
    assert len(closed) == len(body["trades"]) > 50
    assert [(t["entry_t"], t["exit_t"], t["side"], t["entry_price"], t["exit_price"], t["pnl"])
            for t in body["trades"]] == [
        (str(p.ts_opened), str(p.ts_closed), str(p.entry).lower(), p.avg_px_open, p.avg_px_close,
         float(p.realized_pnl.as_decimal())) for p in closed]
    assert events(backtest.r, "nt")[-2:] == [("results", {}), ("end", {})]
    manifest = backtest.r.hgetall(k.manifest)
    assert (manifest[b"status"], manifest[b"strategy"]) == (b"ended", b"SeesEverything")
    identity = json.loads(manifest[b"identity"])
    assert identity["params"] == {"instrument_id": "EUR/USD.SIM", "bar_type": BAR_SERIES, "trade_size": "100000",
                                  "fast_ema_period": 10, "slow_ema_period": 20, "order_id_tag": "000"}


def test_decorated_value_charts_at_backtest_time(backtest: SimpleNamespace) -> None:
    times, cols = read_points(backtest.r, "EMACross.ema_gap", "nt")
    saw = [(t, (f - s) * 10_000) for t, _, f, s in backtest.strategy.seen if not math.isnan(s)]
    assert list(zip(times, cols["y"])) == saw


def test_nautilus_2_values_convert_by_the_stated_rule(r: redis.Redis) -> None:
    """chartbridge.nautilus.convert's rule on 2.x's PyO3 types (test_nautilus.py's twin)."""
    eur = InstrumentId.from_str("EUR/USD.SIM")
    quote = QuoteTick(eur, Price.from_str("1.10000"), Price.from_str("1.10010"), Quantity.from_int(1),
                      Quantity.from_int(1), 5, 5)
    trade = TradeTick(eur, Price.from_str("1.10020"), Quantity.from_int(1), AggressorSide.BUY, TradeId("1"), 6, 6)
    ema = ExponentialMovingAverage(2)
    bar = ema_cross.synthetic_bars(1)[0]
    values: list[Any] = [Price.from_str("1.5"), Quantity.from_str("2.25"), Money(3.5, Currency.from_str("USD")),
                         quote, trade, bar, ema]

    @cb.chart(name="conv")
    def chart(x: Any) -> Any:
        return x

    for i, value in enumerate(values):
        cb.set_clock(i + 1)
        chart(value)  # the EMA is not initialized: no point, no rejection
    ema.update_raw(1.0)
    ema.update_raw(2.0)
    cb.set_clock(10)
    chart(ema)
    bands = BollingerBands(2, 2.0)
    for b in ema_cross.synthetic_bars(2):
        bands.handle_bar(b)
    assert bands.initialized
    chart(bands)  # no single value: refused, counted
    assert cb.flush()
    assert read_points(r, "conv") == ([1, 2, 3, 4, 5, 6, 10], {"y": [1.5, 2.25, 3.5, 1.10005, 1.1002,
                                                                    float(str(bar.close)), ema.value]})
    assert cb.stats()["rejected"] == 1


class SawEquity(SeesEverything):
    """Keeps, at each bar (of either strategy, in the order they came), the venue's equity as
    Nautilus holds it: the balance plus each open position's PnL at its instrument's last bar."""

    seen: list[tuple[int, float]] = []

    def on_bar(self, bar: Any) -> None:
        account = self.cache.account_for_venue(self.instrument_id.venue)
        raw = account.balance_total(Currency.from_str("USD")).raw
        for p in self.cache.positions_open(None, None):
            last = self.cache.bar(BarType.from_str(f"{p.instrument_id}-1-MINUTE-LAST-EXTERNAL"))
            raw += p.unrealized_pnl(last.close).raw
        SawEquity.seen.append((bar.ts_event, raw / 10**16))
        super().on_bar(bar)


def test_two_instruments_of_one_venue_chart_apart_and_their_pnl_adds_up_in_equity(r: redis.Redis) -> None:
    """EUR/USD and GBP/USD on SIM, one strategy each: each bar type its candles and its
    strategy's EMAs, each instrument its fills and PnL, and the venue's equity every bar's
    balance plus both PnLs (the per-bar path: no instrument is alone on its venue)."""
    from nautilus_trader.backtest import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.common import LoggerConfig, LogLevel
    from nautilus_trader.execution import MakerTakerFeeModel
    from nautilus_trader.model import AccountType, OmsType, Venue
    from nautilus_trader.testkit.providers import TestInstrumentProvider

    engine = BacktestEngine(BacktestEngineConfig(logging=LoggerConfig(stdout_level=LogLevel.ERROR)))
    usd = Currency.from_str("USD")
    engine.add_venue(Venue("SIM"), OmsType.NETTING, AccountType.MARGIN, [Money(1_000_000, usd)], base_currency=usd,
                     fee_model=MakerTakerFeeModel(ema_cross.FEE, ema_cross.FEE))
    strategies = []
    for tag, symbol, seed in (("000", "EUR/USD", 7), ("001", "GBP/USD", 8)):
        instrument = TestInstrumentProvider.default_fx_ccy(symbol)
        engine.add_instrument(instrument)
        bar_type = f"{symbol}.SIM-1-MINUTE-LAST-EXTERNAL"
        engine.add_data(ema_cross.synthetic_bars(400, seed, bar_type))
        strategies.append(SawEquity(ema_cross.EMACrossConfig(instrument.id, BarType.from_str(bar_type),
                                                              order_id_tag=tag)))
        engine.add_strategy(strategies[-1])
    engine.add_actor(ChartbridgeActor(ChartbridgeConfig(backtest_batch=150)))
    engine.run()
    assert cb.flush(10) and cb.stats()["rejected"] == 0
    pnls = {}
    for strategy, symbol, seed in zip(strategies, ("EUR/USD", "GBP/USD"), (7, 8)):
        bar_type = f"{symbol}.SIM-1-MINUTE-LAST-EXTERNAL"
        times, cols = read_points(r, bar_type)
        assert times == [b.ts_event for b in ema_cross.synthetic_bars(400, seed, bar_type)]
        entry = registry(r, bar_type)
        assert entry["pane"] == ("main" if symbol == "EUR/USD" else bar_type)
        ema_times, ema = read_points(r, f"{strategy.strategy_id}.slow_ema")
        assert ema_times == times[19:] and ema["y"][-1] == strategy.slow_ema.value
        assert registry(r, f"{strategy.strategy_id}.slow_ema")["pane"] == entry["pane"]
        mine = [f for f in fills(engine) if str(f.instrument_id) == f"{symbol}.SIM"]
        fill_times, _ = read_points(r, f"fills:{symbol}.SIM")
        assert len(mine) > 5 and fill_times == [f.ts_event for f in mine]
        pnl_times, pnl = read_points(r, f"unrealized_pnl:{symbol}.SIM")
        assert pnl_times == times
        pnls[symbol] = pnl["y"]
    # A point at each bar of either instrument: the account's balance plus every open position's
    # PnL at its instrument's last close, as the strategy handling that bar saw them.
    times, equity = read_points(r, "equity:SIM:USD")
    assert len(times) == 800 and list(zip(times, equity["y"])) == SawEquity.seen
    engine.dispose()


class RecordsEquity(EquitySeen, ema_cross.EMACross):
    """The example, noting the account's equity as Nautilus values it at each bar."""

    def on_stop(self) -> None:
        """Keeps the last position open: the equity compared is the bars' (the closing fill's
        final point is test_nautilus2_stop.py's)."""


def test_a_cash_account_is_charted_at_each_bar_as_nautilus_values_it(r: redis.Redis) -> None:
    from nautilus_trader.backtest import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.common import LoggerConfig, LogLevel
    from nautilus_trader.execution import MakerTakerFeeModel
    from nautilus_trader.model import AccountType, OmsType, Venue
    from nautilus_trader.testkit.providers import TestInstrumentProvider

    engine = BacktestEngine(BacktestEngineConfig(logging=LoggerConfig(stdout_level=LogLevel.ERROR)))
    engine.add_venue(Venue("SIM"), OmsType.NETTING, AccountType.CASH,
                     [Money(1_000_000, Currency.from_str("USD")), Money(1_000_000, Currency.from_str("EUR"))],
                     fee_model=MakerTakerFeeModel(ema_cross.FEE, ema_cross.FEE))
    instrument = TestInstrumentProvider.default_fx_ccy("EUR/USD")
    engine.add_instrument(instrument)
    bars = ema_cross.synthetic_bars(300)
    engine.add_data(bars)
    strategy = RecordsEquity(ema_cross.EMACrossConfig(instrument.id, BarType.from_str(BAR_SERIES)))
    run_and_compare_equity(r, engine, strategy, [b.ts_event for b in bars])
    assert set(strategy.equity_seen["EUR"]) == {900_000.0, 1_000_000.0, 1_100_000.0}  # the holdings moved
