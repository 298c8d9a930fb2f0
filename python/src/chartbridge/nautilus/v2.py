# mypy checks this module in the 1.x venv (scripts/test-all.sh), whose nautilus_trader has none
# of 2.x's flat names: they are Any here.
# mypy: disable-error-code="import-not-found,misc,attr-defined"
# mypy: disallow-subclassing-any=False
"""``ChartbridgeActor`` on NautilusTrader 2 (the Rust engine with PyO3 bindings).

The same series, ids, titles, panes, units and results as the 1.x actor (``actor.py``; SPEC
section 8), read through the hooks 2.x gives a Python actor:

| what | 2.x hook |
|---|---|
| bars, after the strategies handled them | ``subscribe_bars`` of each bar type the cache holds at the first bar (an alert at the start time fires after it), subscribed after the strategies' own; 2.x calls ``on_bar`` by name, so with one bar type it is the compiled recorder itself (``v2_recorder``) |
| the strategies and their registered indicators | the running ``Strategy`` objects of this trader (``registered_indicators``), charted on the bar type the strategy keeps (an attribute or its ``params``), else the first |
| fills | the ``OrderFilled`` events 2.x hands each strategy's ``on_order_filled`` (a handler put in front of it queues them), charted at the next bar; at the end, any other fill in the cache's orders |
| net position | the fills' signed quantities, summed per instrument (``Portfolio.net_position`` of a netting venue) |
| unrealized PnL | the open positions' ``unrealized_pnl(close)``, refreshed at each fill; the closes since the last fill priced at once, before the next fill and at each hand-over |
| equity, drawdown | the venue account's ``balances_total()`` plus the unrealized PnL; a cash account: ``Portfolio.equity(venue)`` at each bar, through a strategy's ``portfolio`` |
| statistics | ``Portfolio.statistics()`` (what ``engine.get_result()`` reports), through a strategy's ``portfolio`` |

What 2.x does not give a Python actor, and what is charted instead: order, position and account
events are routed to typed Rust handlers, so ``subscribe_topic("events.order.*")`` sees nothing
(fills are heard through the strategies' ``on_order_filled``); a ``DataActor`` has no ``portfolio`` and no
view of the other components' bar subscriptions, so a strategy's indicators are charted on the
bar type it keeps in an attribute (else the run's first); the portfolio is reached through a
strategy. Actors stop before strategies, and the orders a strategy sends from its ``on_stop``
(closing its positions) fill after both, with no Python callback after that: the actor hands
over what it charted at its stop and leaves the run open; the run is settled (those fills, the
final position, PnL, equity and statistics, then its end) at the first of ``engine.reset()``,
``engine.dispose()``, ``cb.flush()``, the next run's start and interpreter exit; until then it
shows the results as of the actor's stop. ``engine.reset()`` clears the cache before the actor
hears of it: settled there, the run ends without the late fills and keeps those results.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from nautilus_trader.common import DataActor
from nautilus_trader.model import AggregationSource, Bar, BarType, InstrumentId, OrderFilled, OrderSide
from nautilus_trader.trading import Strategy

from .. import session
from ..clock import set_clock
from ..identity import data_identity
from ..producer import PointBuffer, Producer
from ..protocol import sanitize_series_id
from ..runs import Run, end_run, results, start_run
from ..series import Series, Source
from . import contract
from .account import EquityCurve
from .bars import PRICE_PANE, outputs_of, source_of
from .compat import FIXED_PRECISION
from .convert import decimal_value, units_value
from .points import FillMarkers, Points
from .v2_recorder import BarRecorder
from .results import Stats, Trades, account_results, merged

log = logging.getLogger("chartbridge")


_LIVE_SKEW_NS = 60_000_000_000  # a clock this close to the wall clock at the start is a live node's
_LOOK = "chartbridge-look"  # the alert that finds the bar types once the first bar is in the cache


@dataclass(frozen=True)
class ChartbridgeConfig:
    """The settings of ``ChartbridgeActor`` (as on 1.x; see ``config.py``). The backtest ones
    apply when the engine's clock at the start is more than a minute from the wall clock."""

    run: str | None = None
    indicator_panes: dict[str, str] | None = None
    backtest_batch: int = 5000


class _Chart:
    """Everything charted on the bars of one bar type: candles, indicators, unrealized PnL."""

    def __init__(self, actor: ChartbridgeActor, bar_type: BarType, pane: str, primary: bool) -> None:
        self.actor = actor
        self.id = str(bar_type)
        self.instrument_id: InstrumentId = bar_type.instrument_id
        instrument = actor.cache.instrument(self.instrument_id)
        series_id, title = contract.bars(self.id)
        self.candles = Points(actor, Series(series_id, kind="candlestick", pane=pane, title=title,
                                            source=actor.source, precision=contract.precision(instrument, "price")))
        self.pane = pane
        self.primary = primary
        self.recorder = BarRecorder(self.candles.t, self.candles.v, actor.queued, actor.read_fills, actor.drain,
                                    actor.failed, actor.batch, primary, 10**FIXED_PRECISION)
        self.positions: list[Any] = []  # open, refreshed at each fill
        self.currency: str | None = None  # their settlement currency
        self.venue = str(self.instrument_id.venue)
        self.pnl = 0.0  # of the last bar
        self.alone = False  # the one charted instrument of its venue (set by the actor)
        self.settled = 0  # PnL points whose equity is charted
        if primary:
            series_id, title = contract.named("unrealized_pnl", str(self.instrument_id))
            settlement = None if instrument is None else getattr(instrument, "settlement_currency", None) or (
                instrument.base_currency if instrument.is_inverse else instrument.quote_currency)
            self.pnl_points = Points(actor, Series(series_id, pane="pnl", title=title, source=actor.source,
                                                   precision=None if settlement is None else settlement.precision,
                                                   unit=None if settlement is None else settlement.code))

    def add_indicators(self, owner: Any) -> None:
        names = {id(value): name for name, value in vars(owner).items()} if hasattr(owner, "__dict__") else {}
        panes = self.actor.settings.indicator_panes or {}
        for indicator in owner.registered_indicators:
            name = names.get(id(indicator)) or sanitize_series_id(repr(indicator))
            outputs = outputs_of(indicator)
            pane = panes.get(name) or panes.get(type(indicator).__name__) or (
                self.pane if isinstance(indicator, PRICE_PANE) else name)
            for out in outputs:
                series_id = f"{owner.strategy_id}.{name}" + (f".{out}" if len(outputs) > 1 else "")
                points = Points(self.actor, Series(series_id, pane=pane, title=f"{name} {indicator!r}",
                                                   source=source_of(owner)))
                self.recorder.reads.append((indicator, out, points.t, points.v))

    def on_bar(self, bar: Bar) -> None:
        """The recorder, then the PnL and equity of this bar where they are charted bar by bar."""
        self.recorder(bar)
        if self.primary and not self.alone:
            self.actor.settle(self, bar.ts_event)

    def refresh(self) -> None:
        """The open positions after a fill, which price the next bars' PnL; the last PnL (which
        another instrument's equity points add) is theirs at the last close."""
        self.positions = self.actor.cache.positions_open(None, self.instrument_id)
        self.currency = self.positions[0].settlement_currency.code if self.positions else None
        close = self.recorder.last_close
        if close is not None:
            self.pnl = decimal_value(sum(p.unrealized_pnl(close).raw for p in self.positions))


class ChartbridgeActor(DataActor):
    """Charts bars, indicators, fills, positions, equity and results of a Nautilus 2 backtest.

    >>> engine.add_actor(ChartbridgeActor())
    """

    def __init__(self, config: ChartbridgeConfig | None = None) -> None:
        super().__init__()
        self.settings = config or ChartbridgeConfig()
        self._run: Run | None = None
        self.run_id: str | None = None
        self._clear()

    def _clear(self) -> None:
        self._charts: dict[str, _Chart] = {}
        self._only: _Chart | None = None  # the chart of the run's one bar type
        self._strategies: list[Any] = []
        self._trader_strategies: list[Any] = []  # every strategy of this trader, found at the start
        self._fills: dict[str, FillMarkers] = {}
        self._net: dict[str, Any] = {}  # net position per instrument, as a Quantity-like sum of raws
        self._positions: dict[str, Points] = {}
        self._seen: dict[str, int] = {}  # fills charted per order
        self.queued: list[Any] = []  # fills the strategies were told of since the last bar (emptied in place)
        self._heard: list[tuple[Any, Any]] = []  # (strategy, the handler put in front of its on_order_filled)
        self._balances: dict[str, dict[str, float]] = {}  # per venue: currency -> balance
        self._cash: dict[str, Any] = {}  # the portfolio (a strategy's) per venue of a cash account
        self._precisions: dict[str, int] = {}
        self._curves: dict[tuple[str, str], EquityCurve] = {}
        self.points: list[Points] = []
        self.batch = 1
        self._paced: Producer | None = None  # the producer, paced by this backtest's hand-overs
        self.source: Source = ("", 0)
        self._owns_run = False
        self._warned = False

    # -- lifecycle ------------------------------------------------------------------------------

    def on_start(self) -> None:
        session.current().settle()  # the previous runs' late fills and results, before this run starts
        if not session.ENABLED or self._run is not None:
            return
        self._clear()
        self._owns_run = not session.current().stack
        # Strategies start after actors: the ones registered now (READY) name the run.
        self._trader_strategies = self._find_strategies()
        self._strategies = [s for s in self._trader_strategies if s.is_ready()]
        name = "+".join(sorted({type(s).__name__ for s in self._strategies})) or None
        self._run = start_run(self.settings.run or session.current().settings.run, strategy=name)
        self.run_id = self._run.id
        if self._strategies:  # their parameters are the run's (one strategy: its own alone)
            self.source = source_of(self._strategies[0])
            configs = {str(s.strategy_id): _config_of(s) for s in self._strategies}
            self._run.set_identity(params=next(iter(configs.values())) if len(configs) == 1 else configs)
        set_clock(self.clock.timestamp_ns)
        # 2.x's Python clock does not say whether it is a backtest's: a live node's is now.
        if abs(self.clock.timestamp_ns() - time.time_ns()) > _LIVE_SKEW_NS:
            self.batch = self.settings.backtest_batch
            self._paced = session.current().producer
            self._paced.pace(True)  # delivered at each hand-over (``drain``), see Producer.pace
        # Strategies start after actors: the alert at the start time fires after the first bar,
        # when they have subscribed and registered their indicators.
        self.clock.set_time_alert_ns(_LOOK, self.clock.timestamp_ns(), self._guard(self._look))

    def on_stop(self) -> None:
        """Hand over what is charted and leave the run open: 2.x stops actors before strategies
        and fills the orders they send from their ``on_stop`` after both, with no Python callback
        after that. The run is settled (``_settle``) at ``engine.reset()``/``dispose()``,
        ``cb.flush()``, the next run's start or interpreter exit, whichever comes first."""
        if self._run is None:
            return
        self._guard(self.read_fills)()
        self.drain()
        self._guard(self._publish_results)()  # what ``engine.reset()`` leaves (it clears the cache first)
        set_clock(None)
        if self._paced is not None:  # delivered by the flush thread (and ``cb.flush``) until settled
            self._paced.pace(False)
            self._paced = None
        session.current().settlers.append(self._settle)

    def on_reset(self) -> None:
        self._settle()

    def on_dispose(self) -> None:
        self._settle()

    def _settle(self) -> None:
        """Chart what is left (the late fills, the final PnL and equity) and the results, end the
        run (a failure is logged, never raised)."""
        if self._run is None:
            return
        settlers = session.current().settlers
        if self._settle in settlers:
            settlers.remove(self._settle)
        self._guard(self._last)()
        assert self._run is not None
        self._run.set_identity(data=[data_identity(str(c.instrument_id), c.candles.series.id, c.candles.span,
                                                   c.candles.count) for c in self._charts.values()])
        run, self._run = self._run, None
        if self._owns_run and session.current().run is run:
            end_run()
        elif self._owns_run:
            run.end()

    def _last(self) -> None:
        self._unhear()
        self.read_fills()
        late = self._missed()
        if late:
            self._final(max(f.ts_event for f in late))
        for fills in self._fills.values():
            fills.close()  # the last fills at the last time: nothing can join them now
        self.drain()
        self._publish_results()

    def _final(self, t: int) -> None:
        """The PnL and equity after the late fills, at the last one's time: a point at the last
        bar's time replaces that bar's (SPEC section 3, ordering rule), so the run ends on the
        engine's final state (the positions closed at the stop: no PnL, the balances after them)."""
        for chart in self._charts.values():
            points = chart.primary and chart.pnl_points
            last = (points.t[-1] if len(points.t) else points.span and points.span[1]) if points else None
            if last is not None:
                chart.refresh()
                at = max(t, last)
                chart.pnl_points.t.append(at)
                chart.pnl_points.v.append(chart.pnl)
                if not chart.alone:
                    self.settle(chart, at)
        self.settle_equity()

    # -- plumbing -------------------------------------------------------------------------------

    def failed(self) -> None:
        """Logs instead of raising: charting must never break the trading."""
        session.current().count_rejected()
        if not self._warned:
            self._warned = True
            log.exception("chartbridge: charting failed (further failures are only counted in cb.stats())")

    def _guard(self, handler: Any) -> Any:
        def guard(*args: Any) -> None:
            try:
                handler(*args)
            except Exception:
                self.failed()
        return guard

    def buffer(self, series: Series) -> PointBuffer:
        assert self._run is not None
        return self._run.buffer_for(series)

    def drain(self) -> None:
        self.settle_equity()
        for chart in self._charts.values():
            chart.recorder.pending = 0
            chart.settled = 0
        for points in self.points:
            points.drain()
        if self._paced is not None:
            self._paced.deliver()

    # -- bars -----------------------------------------------------------------------------------

    def _look(self, _event: Any) -> None:
        """Chart the running strategies' bar types and indicators, from the first bar on."""
        assert self._run is not None
        self._strategies = [s for s in self._trader_strategies if s.is_running()]
        for venue, venue_account in self._accounts().items():
            self._refresh_balances(venue, venue_account)
        cached = {str(b): b for source in (AggregationSource.EXTERNAL, AggregationSource.INTERNAL)
                  for b in self.cache.bar_types(source)}
        # The strategies' own bar types first, in their order (the first is "main"), then the others.
        order = [b for s in self._strategies for b in _bar_types_of(s) if b in cached] + sorted(cached)
        bar_types = [cached[b] for b in dict.fromkeys(order)]
        for bar_type in bar_types:
            primary = all(c.instrument_id != bar_type.instrument_id for c in self._charts.values())
            self._charts[str(bar_type)] = _Chart(self, bar_type, "main" if not self._charts else str(bar_type), primary)
        for strategy in self._strategies:
            self._hear(strategy)
            if self._charts:
                mine = [self._charts[b] for b in _bar_types_of(strategy) if b in self._charts]
                (mine or list(self._charts.values()))[0].add_indicators(strategy)
        primaries = [c for c in self._charts.values() if c.primary]
        for chart in primaries:
            chart.alone = sum(c.venue == chart.venue for c in primaries) == 1 and chart.venue not in self._cash
        for bar_type in bar_types:
            chart = self._charts[str(bar_type)]
            kept = list(reversed(self.cache.bars(bar_type)))
            chart.recorder.candles(kept[:-1])  # bars before the strategies ran: candles only
            if kept:
                chart.on_bar(kept[-1])
            self.subscribe_bars(bar_type)
        self._only = next(iter(self._charts.values())) if len(self._charts) == 1 else None
        if self._only is not None and not (self._only.primary and not self._only.alone):
            # 2.x calls ``on_bar`` by name: the compiled recorder itself, no Python frame per bar.
            self.on_bar = self._only.recorder  # type: ignore[method-assign]

    def _find_strategies(self) -> list[Any]:
        """This trader's strategies: a ``DataActor`` is told of no other component, so they are
        found among the process's objects (other engines' have other traders or are stopped),
        once a run: the scan takes 15-20 ms, a sixth of a 20k-bar backtest on 2.x."""
        trader = self.trader_id
        return [o for o in gc.get_objects() if isinstance(o, Strategy) and o.trader_id == trader]

    def on_bar(self, bar: Bar) -> None:
        # One bar type: its bars are the only ones subscribed (naming a bar type costs ~1 us).
        chart = self._only or self._charts.get(str(bar.bar_type))
        if chart is not None:
            try:
                chart.on_bar(bar)
            except Exception:
                self.failed()

    # -- fills, positions, equity ---------------------------------------------------------------

    def _hear(self, strategy: Any) -> None:
        """Queue each fill a strategy is told of. 2.x routes order events to typed Rust handlers
        (an actor's ``subscribe_topic`` sees none) and calls a Python strategy's
        ``on_order_filled`` by name: the handler put in front of it (an attribute of the strategy
        object, removed at the stop) queues the event and calls the strategy's own. The fill is
        charted at the next bar, when the positions and balances it moved are in the cache."""
        handler, queued = strategy.on_order_filled, self.queued

        def on_order_filled(fill: Any) -> None:
            queued.append(fill)
            handler(fill)
        strategy.on_order_filled = on_order_filled
        self._heard.append((strategy, on_order_filled))

    def _unhear(self) -> None:
        for strategy, handler in self._heard:
            if vars(strategy).get("on_order_filled") is handler:
                del strategy.on_order_filled
        self._heard = []

    def _missed(self) -> list[Any]:
        """Chart the fills in the cache no strategy was told of (an order of no running strategy,
        or sent at a strategy's stop) and return them."""
        for order in self.cache.orders():
            fills = [e for e in order.events() if isinstance(e, OrderFilled)]
            self.queued.extend(fills[self._seen.get(str(order.client_order_id), 0):])
        missed = list(self.queued)
        self.read_fills()
        return missed

    def read_fills(self) -> None:
        """Chart the queued fills: markers, the net position, the refreshed balances."""
        if not self.queued:
            return
        fills = sorted(self.queued, key=lambda f: f.ts_event)
        del self.queued[:]  # in place: the recorders hold this list
        instruments = set()
        venues = {}
        for fill in fills:
            self._chart_fill(fill)
            instruments.add(str(fill.instrument_id))
            venues[str(fill.instrument_id.venue)] = fill.instrument_id.venue
        self.settle_equity()  # the bars before these fills, with the balances before them
        for chart in self._charts.values():
            if chart.primary and str(chart.instrument_id) in instruments:
                chart.refresh()
        for name, venue in venues.items():
            self._moved_balances(name, venue)

    def _chart_fill(self, fill: Any) -> None:
        order = str(fill.client_order_id)
        self._seen[order] = self._seen.get(order, 0) + 1
        instrument = str(fill.instrument_id)
        buy = fill.order_side == OrderSide.BUY
        markers = self._fills.get(instrument)
        if markers is None:
            target = next((c.candles.series.id for c in self._charts.values() if str(c.instrument_id) == instrument),
                          None)
            series_id, title = contract.named("fills", instrument)
            markers = self._fills[instrument] = FillMarkers(self, Series(series_id, kind="marker", title=title,
                                                                         target=target, source=self.source),
                                                            self.clock.timestamp_ns)
        t = fill.ts_event
        markers.fill(order, t, "buy" if buy else "sell", str(fill.last_qty), str(fill.last_px),
                     str(fill.position_id) if fill.position_id is not None else None)
        points = self._positions.get(instrument)
        if points is None:
            series_id, title = contract.named("position", instrument)
            points = self._positions[instrument] = Points(self, Series(
                series_id, pane="position", title=title, source=self.source, lineType=contract.STEPS,
                precision=contract.precision(self.cache.instrument(fill.instrument_id), "size")))
        raw = fill.last_qty.raw
        self._net[instrument] = self._net.get(instrument, 0) + (raw if buy else -raw)
        points.t.append(t)
        points.v.append(decimal_value(self._net[instrument]))

    def _accounts(self) -> dict[str, Any]:
        """The account of each venue of the cached instruments (2.x's cache lists no accounts)."""
        venues = {str(i.id.venue): i.id.venue for i in self.cache.instruments()}
        return {name: a for name, a in ((name, self.cache.account_for_venue(v)) for name, v in venues.items())
                if a is not None}

    def _refresh_balances(self, venue: str, venue_account: Any) -> None:
        totals = venue_account.balances_total()
        self._balances[venue] = {c.code: decimal_value(m) for c, m in totals.items()}
        self._precisions.update((c.code, c.precision) for c in totals)
        if venue_account.is_cash_account() and self._strategies:
            self._cash[venue] = self._strategies[0].portfolio

    def _moved_balances(self, name: str, venue: Any) -> None:
        """The balances of a venue's account after a fill, from the portfolio's snapshot of it:
        2.x's ``account_for_venue`` copies the account with every state it went through (~200 us
        after 4,000 fills, growing with each), the snapshot leaves them out (~2 us). Building it
        also refreshes the portfolio's list of positions without a price, as ``equity`` does."""
        account_id = self.cache.account_id(venue)
        if account_id is None:
            return
        if not self._strategies:  # no portfolio in reach
            self._refresh_balances(name, self.cache.account(account_id))
            return
        balances = self._strategies[0].portfolio.build_snapshot(account_id).balances
        self._balances[name] = {b.currency.code: decimal_value(b.total) for b in balances}
        self._precisions.update((b.currency.code, b.currency.precision) for b in balances)

    def settle(self, chart: _Chart, t: int) -> None:
        """The PnL of the bar just recorded (priced by the positions open now). The equity and
        drawdown of a venue with one charted instrument are made from its PnL points in one warm
        loop (``settle_equity``, before balances or positions change and at each hand-over);
        with more, each bar's equity adds the others' last PnL."""
        chart.recorder.pnl(chart.positions, chart.pnl_points.t, chart.pnl_points.v)
        chart.pnl = chart.pnl_points.v[-1]
        portfolio = self._cash.get(chart.venue)
        if portfolio is not None:  # a cash account's holdings, valued by Nautilus at this bar
            for currency, money in portfolio.equity(chart.instrument_id.venue).items():
                self._precisions.setdefault(currency.code, currency.precision)
                self._curve(chart, currency.code).add(t, decimal_value(money))
            return
        amounts: dict[str, tuple[float, ...]] = {code: (value,) for code, value in self._balances.get(chart.venue,
                                                                                                    {}).items()}
        for other in self._charts.values():
            if other.primary and other.currency is not None and other.venue == chart.venue:
                amounts[other.currency] = amounts.get(other.currency, ()) + (other.pnl,)
        for code, values in amounts.items():
            self._curve(chart, code).add(t, units_value(values, self._precisions[code]))

    def settle_equity(self) -> None:
        """Equity and drawdown of the PnL points of lone instruments since the last call: the
        balances of now plus each point's PnL (in its settlement currency)."""
        for chart in self._charts.values():
            if not chart.alone:
                continue
            t, pnls = chart.pnl_points.t, chart.pnl_points.v
            if chart.recorder.pnl(chart.positions, t, pnls):  # the bars since the last fill, priced at once
                chart.pnl = pnls[-1]
            start, end = chart.settled, len(t)
            if start >= end:
                continue
            chart.settled = end
            balances = self._balances.get(chart.venue, {})
            currency = chart.currency
            for code in list(balances) + ([currency] if currency is not None and currency not in balances else []):
                self._curve(chart, code).extend(t[start:end], balances.get(code, 0.0),
                                                pnls if code == currency else None, start, end)

    def _curve(self, chart: _Chart, currency: str) -> EquityCurve:
        curve = self._curves.get((chart.venue, currency))
        if curve is None:
            curve = self._curves[chart.venue, currency] = EquityCurve(self, chart.instrument_id.venue, currency,
                                                                      self._precisions[currency])
        return curve

    # -- results --------------------------------------------------------------------------------

    def _publish_results(self) -> None:
        """The portfolio's statistics (``Portfolio.statistics()``, what the backtest's result
        reports, reached through a strategy: a ``DataActor`` has no portfolio) and the closed
        positions, per account (SPEC section 8). The portfolio's statistics are of every account
        at once: each account's group shows them. At the actor's stop they lack the last day's
        return, which the engine adds after its strategies stopped."""
        if not self._strategies:
            return
        statistics = _Statistics(self._strategies[0].portfolio.statistics())
        positions = self.cache.positions(None, None, None, None, None) + self.cache.position_snapshots(None, None)
        per_account: dict[Any, tuple[Stats, Trades]] = {}
        for venue_account in self._accounts().values():
            mine = [p for p in positions if p.account_id == venue_account.id]
            per_account[venue_account.id] = account_results(statistics, venue_account, mine)
        if per_account:
            results(*merged(per_account))


def _bar_types_of(strategy: Any) -> list[str]:
    """The bar types a strategy keeps in its attributes or its ``params``: where its indicators
    are charted (2.x does not tell a ``DataActor`` which bar type an indicator is registered for)."""
    params = getattr(strategy, "params", None)
    values = list(vars(strategy).values()) + (list(vars(params).values()) if hasattr(params, "__dict__") else [])
    return list(dict.fromkeys(str(v) for v in values if isinstance(v, BarType)))


def _config_of(strategy: Any) -> Any:
    """A strategy's parameters: its ``params`` or ``config`` dataclass (2.x's own ``StrategyConfig``
    holds no fields of the strategy's), its values as JSON or their text."""
    config = getattr(strategy, "params", None) or strategy.config
    values = dataclasses.asdict(config) if dataclasses.is_dataclass(config) and not isinstance(config, type) else {
        "strategy_id": str(strategy.strategy_id)}
    return json.loads(json.dumps(values, default=str))


class _Statistics:
    """2.x's ``PortfolioStatistics`` read as ``results.account_results`` reads 1.x's analyzer."""

    def __init__(self, statistics: Any) -> None:
        self.statistics = statistics
        self.currencies = list(statistics.pnls)

    def get_performance_stats_pnls(self, currency: str) -> dict[str, float]:
        return dict(self.statistics.pnls[currency])

    def get_performance_stats_returns(self) -> dict[str, float]:
        return dict(self.statistics.returns)

    def get_performance_stats_general(self) -> dict[str, float]:
        return dict(self.statistics.general)
