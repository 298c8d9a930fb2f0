# nautilus_trader's compiled (Cython) modules ship no stubs: their names are Any here.
# mypy: disable-error-code="import-not-found"
# mypy: disallow-subclassing-any=False
"""``ChartbridgeActor``: charts a NautilusTrader backtest or live node with no decorator.

It listens on the message bus; the strategies are left untouched:

| what | series | pane |
|---|---|---|
| bars, one series per bar type | ``<bar type>`` (candlestick) | ``main`` for the first bar type, else its own |
| every indicator a component registered | ``<component id>.<attribute>[.<output>]`` | the bars' pane for averages/bands, else its own |
| fills | ``fills:<instrument>`` markers on the bars, one per order per time (partial fills: their quantity-weighted price): side, price, "BUY <qty> @ <price> <position id>" | bars |
| net position per instrument (``Portfolio.net_position``: every strategy and account) | ``position:<instrument>`` (step line) | ``position`` |
| unrealized PnL per instrument | ``unrealized_pnl:<instrument>`` | ``pnl`` |
| account equity and drawdown (% below the running peak) | ``equity:<venue>:<ccy>``, ``drawdown:<venue>:<ccy>`` | ``equity``, ``drawdown`` |
| quote and trade ticks; without bars, PnL and equity sampled on them (``ticks.py``) | ``bid:``/``ask:<instrument>``, ``trades:<instrument>`` | the bars' pane, else ``main`` |
| end-of-run statistics and positions, kept per account | ``cb.results`` | |

Ids, titles, panes, values and fill texts follow protocol/SPEC.md section 8 (``contract.py``), as
the server's bridge from Nautilus's own message bus does. It also sets the SDK clock to the engine
clock, so ``@cb.chart`` methods chart simulated time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.enums import ComponentState
from nautilus_trader.indicators.base import Indicator
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide, PositionSide
from nautilus_trader.model.events import AccountState, OrderFilled, PositionEvent
from nautilus_trader.model.identifiers import InstrumentId, PositionId, Venue
from nautilus_trader.model.position import Position
from nautilus_trader.trading.strategy import Strategy

from .. import session
from ..clock import set_clock
from ..identity import data_identity
from ..producer import PointBuffer, Producer
from ..protocol import TIME_LIMIT
from ..runs import Run, end_run, results, start_run
from ..series import Series, Source
from . import contract
from .account import Account, Applies
from .bars import BarChart, source_of
from .config import ChartbridgeConfig
from .convert import decimal_value
from .points import FillMarkers, Points
from .recorder import resolve_again
from .results import Stats, Trades, account_results, merged
from .ticks import Ticks

log = logging.getLogger("chartbridge")

_BARS = "data.bars."
_PRE_FILL = "Portfolio.update_order"  # the execution engine sends each fill here before it moves the position


def signed_raw(position: Position | PositionEvent) -> int:
    """A position's quantity as its signed raw (negative when short): raws add exactly, and
    ``decimal_value`` of their sum is the float of the decimal sum (a ``Decimal`` per position
    and their sum cost ~1 us an event)."""
    raw: int = position.quantity.raw
    return -raw if position.side == PositionSide.SHORT else raw


class ChartbridgeActor(Actor):
    """Charts bars, indicators, fills, positions, equity and results of a Nautilus run.

    >>> engine.add_actor(ChartbridgeActor())                       # a BacktestEngine
    >>> TradingNodeConfig(actors=[ImportableActorConfig(            # a TradingNode
    ...     actor_path="chartbridge.nautilus:ChartbridgeActor",
    ...     config_path="chartbridge.nautilus:ChartbridgeConfig", config={})])

    Bars are charted from the bar types the node's components subscribe to, after those
    components handled each bar (so indicators are charted with this bar's value). The run
    ends when the backtest's statistics are calculated (``engine.run()``), or at
    ``reset``/``dispose``, the next backtest, or process exit.
    """

    config: ChartbridgeConfig

    def __init__(self, config: ChartbridgeConfig | None = None) -> None:
        super().__init__(config or ChartbridgeConfig())
        self._run: Run | None = None
        self.run_id: str | None = None  # the run charted last (kept after it ended)
        self._paced: Producer | None = None  # the producer, paced by this backtest's hand-overs
        self._unhook: Callable[[], None] | None = None  # puts the portfolio's fill endpoint back
        self._clear()

    def _clear(self) -> None:
        """The state of one run."""
        self._owns_run = False
        self._charts: dict[str, BarChart] = {}
        self._claimed: set[int] = set()  # ids of the indicators charted already
        self._fills: dict[InstrumentId, FillMarkers] = {}
        # Fills since the last hand-over (their markers are made there) and position events since
        # the last settle (charted there): at each event, between two bars of a backtest, the same
        # steps cost several times as much, their code and data cold. While ``deferred``, ``moved``
        # is the log of every fill, position and account event since the last hand-over (``_walk``).
        self._filled: list[OrderFilled] = []
        self.moved: list[Any] = []
        self.deferred = False
        # per instrument, while deferred: the signed quantity of each open position, after the events walked
        self._nets: dict[InstrumentId, dict[PositionId, int]] = {}
        # per instrument: its net position's points, and its chart priced by an account (None: none)
        self._positions: dict[InstrumentId, tuple[Points, BarChart | None]] = {}
        self._results: dict[Any, tuple[Stats, Trades]] = {}  # per account
        self._subscriptions: list[tuple[str, Callable[[Any], None]]] = []
        self._accounts: dict[str, Account] = {}  # per venue
        self._last_account_event: object = None
        self.points: list[Points] = []  # the per-bar series
        self.bars_pending = 0  # bars of cash accounts settled since the last hand-over
        self.batch = 1  # bars per hand-over to the SDK
        self.source: Source = ("", 0)
        self.ticks = Ticks(self)

    # -- lifecycle ------------------------------------------------------------------------------

    def on_start(self) -> None:
        if not session.ENABLED or self._run is not None:
            return
        self._clear()
        strategies = [owner for owner in (getattr(s.handler, "__self__", None)
                                          for s in self.msgbus.subscriptions("events.order.*"))
                      if isinstance(owner, Strategy)]
        self.source = source_of(strategies[0]) if strategies else source_of(self)
        name = "+".join(sorted({type(s).__name__ for s in strategies})) or None
        self._owns_run = not session.current().stack
        self._run = start_run(self.config.run or session.current().settings.run, strategy=name)
        self.run_id = self._run.id
        if strategies:  # the strategies' configs are the run's parameters (one strategy: its config alone)
            configs = {str(s.id): json.loads(s.config.json()) for s in strategies}
            self._run.set_identity(params=next(iter(configs.values())) if len(configs) == 1 else configs)
        set_clock(self.clock.timestamp_ns)
        if not isinstance(self.clock, LiveClock):
            self.batch = self.config.backtest_batch
            self._paced = session.current().producer
            self._paced.pace(True)  # delivered at each hand-over (``drain``), see Producer.pace
        self._discover_handler = self.guarded(self._discover)
        self._fill_marker, self._position_line = self.guarded(self._on_fill), self.guarded(self._on_positions)
        # Each order makes several order and account events, each handler call costing
        # microseconds inside a backtest: the fills come from the portfolio's endpoint
        # (``_hook_fills``), and the events that chart nothing pass no guard.
        refresh = self.guarded(self._on_account_state)
        filled = self._filled

        def on_order_event(event: Any) -> None:
            if type(event) is OrderFilled:
                filled.append(event)

        def on_account(event: Any) -> None:
            if event is not self._last_account_event:
                self._last_account_event = event
                if self.deferred:
                    self.moved.append(event)
                else:
                    refresh(event)
        def on_position_event(event: Any) -> None:
            self.moved.append(event)
            self.move()
        # Hooked, a fill's position events are charted at the next settle, which comes before the
        # next fill moves a position; else the next settle may come after it (an account event
        # of the next fill follows its position update): they are charted as they come.
        hooked = self._hook_fills()
        subscriptions = [(_BARS + "*", self._discover_handler),
                         ("events.position.*", self.moved.append if hooked else on_position_event),
                         ("events.system.*", self.guarded(self._on_component_state))]
        if not hooked:
            subscriptions.append(("events.order.*", on_order_event))
        for topic, handler in subscriptions:
            self._subscribe(topic, handler)
        # Nautilus 1.221 does not attach a wildcard subscription to topics already published
        # (the accounts' first states are), so the known accounts are also subscribed by name;
        # 1.231 then delivers each account event twice: the second is skipped (``on_account``).
        for topic in ["events.account.*"] + [f"events.account.{a.id}" for a in self.cache.accounts()]:
            self._subscribe(topic, on_account)
        self.ticks.start()
        self._watch_analyzer()

    def on_stop(self) -> None:
        self.drain()
        # A live node has no post-run analysis: calculate the statistics here. A backtest
        # calculates them after its last fills have settled, which is when they are published.
        if self._run is not None and isinstance(self.clock, LiveClock):
            self._calculate_statistics()

    def on_reset(self) -> None:
        self._finish()

    def on_dispose(self) -> None:
        self._finish()

    def _finish(self) -> None:
        """Publish the results if nobody calculated them, end the run, let go of the bus."""
        if self._run is None:
            return
        if not self._results:
            self._calculate_statistics()
        if self._run is None:
            return  # the statistics completed the run
        self.ticks.finish()
        self._catch_up()
        for fills in self._fills.values():
            fills.close()  # the last fills at the last time: nothing can join them now
        self.drain()
        self._run.set_identity(data=[data_identity(str(c.instrument_id), c.id, c.candles.span, c.candles.count)
                                     for c in self._charts.values()])
        for topic, handler in self._subscriptions:
            if self.msgbus.is_subscribed(topic, handler):
                self.msgbus.unsubscribe(topic, handler)
        resolve_again(self.msgbus)  # once, after every unsubscription
        self._subscriptions.clear()
        vars(self.portfolio.analyzer).pop("calculate_statistics", None)
        if self._unhook is not None:
            self._unhook()
            self._unhook = None
        set_clock(None)
        if self._paced is not None:
            self._paced.pace(False)
            self._paced = None
        run, self._run = self._run, None
        if self._owns_run and session.current().run is run:
            end_run()
        elif self._owns_run:
            run.end()

    # -- plumbing -------------------------------------------------------------------------------

    def guarded(self, handler: Callable[..., None]) -> Callable[..., None]:
        """``handler`` that logs instead of raising: charting must never break the trading."""
        warned = False

        def guard(*args: Any) -> None:
            nonlocal warned
            try:
                handler(*args)
            except Exception:
                session.current().count_rejected()
                if not warned:
                    warned = True
                    log.exception("chartbridge: %s failed (further failures are only counted in cb.stats())",
                                  getattr(handler, "__qualname__", handler))
        return guard

    def _subscribe(self, topic: str, handler: Callable[[Any], None]) -> None:
        """Subscribe last: handlers of equal priority run in subscription order, so ours runs
        after the components that subscribed before (and updated their indicators)."""
        if self.msgbus.is_subscribed(topic, handler):
            self.msgbus.unsubscribe(topic, handler)
        else:
            self._subscriptions.append((topic, handler))
        self.msgbus.subscribe(topic, handler)
        resolve_again(self.msgbus)

    def _unsubscribe(self, topic: str, handler: Callable[[Any], None]) -> None:
        """Unsubscribe, the bus's cache of subscribers left as fast to publish from (``resolve_again``)."""
        self.msgbus.unsubscribe(topic, handler)
        resolve_again(self.msgbus)

    def settle(self) -> None:
        """Chart PnL and equity of the bars received so far, before positions or balances change."""
        for account in self._accounts.values():
            account.settle()

    def drain(self) -> None:
        """Hand the points of the bars received so far to the SDK's buffers."""
        self.bars_pending = 0
        self._discover()
        self._catch_up()
        for chart in self._charts.values():
            chart.recorder.pending = 0
        for points in self.points:
            points.drain()
        for account in self._accounts.values():
            account.settled = 0
        if self._paced is not None:
            self._paced.deliver()

    def buffer(self, series: Series) -> PointBuffer:
        """The buffer of ``series`` in this actor's run."""
        assert self._run is not None
        return self._run.buffer_for(series)

    def claim(self, indicator: Indicator) -> bool:
        """True the first time: an indicator is charted with the first bar type of its owner."""
        if id(indicator) in self._claimed:
            return False
        self._claimed.add(id(indicator))
        return True

    # -- bars -----------------------------------------------------------------------------------

    def _discover(self, bar: Bar | None = None) -> None:
        """Chart the bar types the components subscribe to: at the first bar after components
        started (``bar``), and at each hand-over for bar types subscribed since."""
        if bar is not None:
            self._unsubscribe(_BARS + "*", self._discover_handler)
        first_topic = _BARS + str(bar.bar_type) if bar is not None else None
        owners: dict[str, list[Any]] = {first_topic: []} if first_topic is not None else {}
        for sub in self.msgbus.subscriptions(_BARS + "*"):
            owner = getattr(sub.handler, "__self__", None)
            if "*" not in sub.topic and isinstance(owner, Actor) and owner is not self:  # not a recorder
                owners.setdefault(sub.topic, []).append(owner)
        first: BarChart | None = None  # the new chart of ``bar``: its recorder sees the next one
        for bar_topic, components in owners.items():
            new = bar_topic not in self._charts
            chart = self._chart(bar_topic[len(_BARS):], bar) if new else self._charts[bar_topic]
            for component in components:
                chart.add_indicators(component)
            if new or bar is not None:  # at the first bar, after the components that subscribed since
                self._subscribe(bar_topic, chart.recorder.record)
            if new and bar_topic == first_topic:
                first = chart
        if first is not None and bar is not None:
            first.recorder.record(bar)

    def _chart(self, bar_type: str, bar: Bar | None) -> BarChart:
        """A new chart of ``bar_type``, with the candles of the bars of it the cache has (before
        ``bar``, which the caller records)."""
        parsed = BarType.from_str(bar_type)
        instrument = parsed.instrument_id
        primary = all(c.instrument_id != instrument for c in self._charts.values())
        chart = self._charts[_BARS + bar_type] = BarChart(self, bar_type, "main" if not self._charts else bar_type,
                                                      primary)
        until = bar.ts_event if bar is not None and str(bar.bar_type) == bar_type else TIME_LIMIT
        # Bars kept before the chart existed (history, or bars of a type subscribed since the
        # last look): candles only, as its indicators and positions are of now.
        chart.recorder.candles([b for b in reversed(self.cache.bars(parsed)) if b.ts_event < until])
        held = self._positions.get(instrument)
        if held is not None and chart.account is not None:
            self._positions[instrument] = held[0], chart
        return chart

    def _on_component_state(self, event: Any) -> None:
        # A component started later (live) may subscribe to more bars: look again at the next bar.
        if event.state != ComponentState.RUNNING:
            return
        self._subscribe(_BARS + "*", self._discover_handler)
        self.ticks.rearm()

    # -- account --------------------------------------------------------------------------------

    def account(self, venue: Venue) -> Account:
        """The account of ``venue`` (one per venue, shared by its instruments)."""
        name = str(venue)
        if name not in self._accounts:
            self._accounts[name] = Account(self, venue)
        return self._accounts[name]

    def _on_account_state(self, event: Any) -> None:
        # Balances change only with account events: read them here, not on every bar.
        account = self._accounts.get(event.account_id.get_issuer())
        if account is not None:
            account.refresh()

    # -- fills and positions --------------------------------------------------------------------

    def _take_fills(self) -> None:
        """The fills since the last hand-over into their markers, in one loop."""
        for event in self._filled:
            self._fill_marker(event)
        self._filled.clear()

    def _on_fill(self, event: OrderFilled) -> None:
        instrument_id = event.instrument_id
        buy = event.order_side == OrderSide.BUY
        markers = self._fills.get(instrument_id)
        if markers is None:
            target = next((c.candles.series.id for c in self._charts.values() if c.instrument_id == instrument_id),
                          None) or self.ticks.target(instrument_id)
            series_id, title = contract.named("fills", str(instrument_id))
            markers = self._fills[instrument_id] = FillMarkers(self, Series(series_id, kind="marker", title=title,
                                                                            target=target, source=self.source),
                                                               self.clock.timestamp_ns)
        markers.fill(event.client_order_id, event.ts_event, "buy" if buy else "sell", event.last_qty, event.last_px,
                     event.position_id)

    def move(self) -> None:
        """Chart the position events since the last settle, and price the bars from now on with
        the positions open now. Called before anything settles (``Account.settle``): the bars
        before them were settled before their fill (``_hook_fills``)."""
        events = list(self.moved)
        self.moved.clear()
        nets: dict[InstrumentId, float] = {}
        for event in events:
            self._position_line(event, nets)

    def _on_positions(self, event: PositionEvent, nets: dict[InstrumentId, float]) -> None:
        """One position event's point of its instrument's net position. Nautilus publishes a
        fill's position events after it moved every position (1.231), so each is charted with
        the net position after all of them: ``nets`` keeps it per instrument, read once."""
        instrument_id = event.instrument_id
        net = nets.get(instrument_id)
        if net is None:
            net = nets[instrument_id] = self._positions_now(instrument_id)
        points = self._positions[instrument_id][0]
        points.t.append(event.ts_event)
        points.v.append(net)

    def _held(self, instrument_id: InstrumentId) -> tuple[Points, BarChart | None]:
        """The instrument's net position line, and its chart that an account prices (None: none)."""
        held = self._positions.get(instrument_id)
        if held is None:
            series_id, title = contract.named("position", str(instrument_id))
            line = Points(self, Series(series_id, pane="position", title=title, source=self.source,
                                       lineType=contract.STEPS,
                                       precision=contract.precision(self.cache.instrument(instrument_id), "size")))
            priced = next((c for c in self._charts.values() if c.account is not None and c.instrument_id == instrument_id),
                          None)  # a chart made later takes its place (``_chart``)
            held = self._positions[instrument_id] = line, priced
        return held

    def _positions_now(self, instrument_id: InstrumentId) -> float:
        """The positions open now in the instrument's chart; returns their net quantity."""
        chart = self._held(instrument_id)[1]
        positions = self.cache.positions_open(instrument_id=instrument_id)
        if chart is not None:
            chart.positions = positions
            chart.hold(positions[0].settlement_currency if positions else None)
        # Portfolio.net_position: the sum of these positions' decimals, over every strategy and account
        # (read from the positions the chart needs anyway: it costs another ~4 us an event inside a backtest).
        return decimal_value(sum(signed_raw(p) for p in positions))

    # -- pricing each bar as it is recorded -------------------------------------------------------

    def _catch_up(self) -> None:
        """Chart the fills, position and account events so far, and the PnL and equity of the
        bars received so far."""
        if self.deferred:
            self._walk()
            return
        self._take_fills()
        if self.moved:  # charted when no account settles
            self.move()
        self.settle()

    def remode(self) -> None:
        """Price each bar as it is recorded (``deferred``) while every account that prices
        charts is a margin account pricing one ``BarChart`` and the fills come from the portfolio's
        endpoint; else settle at each fill and account event. Called when an account's charts or
        type changed.

        Settling before each fill costs ~18 us a fill inside a backtest, an account event ~12 us
        and the positions' refresh ~12 us, their code and data cold there. Deferred, a fill and
        its events are appended to ``moved``, the recorder prices each bar in C with the positions
        open then (adding a position opened since the last bar: ``recorder.price_each``), and the
        events are charted at the hand-over, in one warm loop (``_walk``)."""
        accounts = list(self._accounts.values())
        want = self._unhook is not None and all(not a.charts or (a.typed and isinstance(a.lazy, BarChart))
                                                for a in accounts)
        if want == self.deferred and all(a.deferred_chart is (a.lazy if want else None) for a in accounts):
            return
        self._catch_up()
        if want and not self.deferred:  # the net positions the walk goes on from
            self._nets = {}
            for position in self.cache.positions_open():
                self._nets.setdefault(position.instrument_id, {})[position.id] = signed_raw(position)
        self.deferred = want
        for account in accounts:
            chart = account.lazy if want and isinstance(account.lazy, BarChart) else None
            if account.deferred_chart is not chart and account.deferred_chart is not None:
                account.deferred_chart.positions = account.deferred_chart.recorder.keep_each()
            if chart is not None and account.deferred_chart is not chart:
                chart.recorder.price_each(self.moved, self.cache, chart.instrument_id,
                                          self.cache.positions_open(instrument_id=chart.instrument_id),
                                          chart.pnl_points.t, chart.pnl_points.v)
            account.deferred_chart = chart

    def _walk(self) -> None:
        """Deferred: chart the log's events in order (fill markers, net position points, balances)
        and the equity of the bars priced since the last walk, each bar with the balances of the
        account events before it (``marks``)."""
        log = self.moved
        priced = {account: Applies(account.deferred_chart) for account in self._accounts.values()
                  if account.deferred_chart is not None}
        group: list[PositionEvent] = []
        for i, event in enumerate(log):
            if isinstance(event, PositionEvent):
                group.append(event)
                continue
            if group:
                self._moved_group(group, i - 1, priced)
                group = []
            if type(event) is OrderFilled:
                self._fill_marker(event)
            elif type(event) is AccountState:
                account = self._accounts.get(event.account_id.get_issuer())
                if account is not None:
                    if account in priced:
                        account.settle_to(priced[account].at(i))
                    account.apply(event)
        if group:
            self._moved_group(group, len(log) - 1, priced)
        log.clear()
        for account, applies in priced.items():
            account.settle_to(None)
            applies.chart.recorder.rescan()

    def _moved_group(self, group: list[PositionEvent], last: int, priced: dict[Account, Applies]) -> None:
        """The position events of one fill (log entries up to ``last``): each one's point of its
        instrument's net position after them all (Nautilus publishes them once it has moved every
        position), and the settlement currency its PnL is in from the next bar on."""
        nets: dict[InstrumentId, float] = {}
        for event in group:
            signed = self._nets.setdefault(event.instrument_id, {})
            quantity = signed_raw(event)
            if quantity:
                signed[event.position_id] = quantity
            else:
                signed.pop(event.position_id, None)
            nets[event.instrument_id] = 0.0
        for instrument_id in nets:
            signed = self._nets[instrument_id]
            nets[instrument_id] = decimal_value(sum(signed.values()))
            chart = self._held(instrument_id)[1]
            if chart is not None and chart.account in priced:
                chart.account.settle_to(priced[chart.account].at(last))
                chart.hold(chart.settlement if signed else None)
        for event in group:
            line = self._positions[event.instrument_id][0]
            line.t.append(event.ts_event)
            line.v.append(nets[event.instrument_id])

    def _hook_fills(self) -> bool:
        """Settle just before Nautilus applies a fill to a position (``deferred``: nothing to
        settle, the bars are priced as they come), and keep the fill for its marker; False where
        the endpoint is not the portfolio's (the fills then come from their order events).

        The execution engine moves the position (the very ``Position`` object that prices the
        kept bars) before it publishes the OrderFilled, so settling at that event would price
        the bars since the last settle with the position after the fill. It sends the fill to
        the portfolio's endpoint first (1.221 to 1.231, margin and cash accounts), so that
        endpoint is wrapped, and put back at the end of the run.
        """
        update = self.portfolio.update_order
        filled = self._filled

        def before_fill() -> None:
            self.ticks.before_fill()
            self.settle()
        settle = self.guarded(before_fill)

        def update_order(event: Any) -> None:
            if type(event) is OrderFilled:
                if self.deferred:  # the bars are priced as they come: nothing to settle
                    self.moved.append(event)
                else:
                    settle()
                    filled.append(event)
            update(event)
        try:
            self.msgbus.deregister(_PRE_FILL, update)
        except (KeyError, ValueError):  # not the portfolio's (another tool wraps it): leave it
            log.warning("chartbridge: %s is not the portfolio's, so the bars before a fill are priced with "
                        "the position after it", _PRE_FILL)
            return False
        self.msgbus.register(_PRE_FILL, update_order)

        def unhook() -> None:
            self.msgbus.deregister(_PRE_FILL, update_order)
            self.msgbus.register(_PRE_FILL, update)
        self._unhook = unhook
        return True

    # -- results --------------------------------------------------------------------------------

    def _watch_analyzer(self) -> None:
        """Publish the statistics when Nautilus calculates them: a backtest does so at its very
        end, after the last fills settled, which no actor callback sees."""
        analyzer = self.portfolio.analyzer
        calculate = type(analyzer).calculate_statistics

        def calculate_statistics(account: Any, positions: list[Position]) -> None:
            calculate(analyzer, account, positions)
            self._publish_results(account, positions)
        analyzer.calculate_statistics = calculate_statistics

    def _calculate_statistics(self) -> None:
        positions = self.cache.positions() + self.cache.position_snapshots()
        for account in self.cache.accounts():
            venue_positions = [p for p in positions if p.account_id == account.id]
            self.portfolio.analyzer.calculate_statistics(account, venue_positions)

    def _publish_results(self, account: Any, positions: list[Position]) -> None:
        if self._run is None:
            return
        self._results[account.id] = account_results(self.portfolio.analyzer, account, positions)
        results(*merged(self._results))
        if self._results.keys() >= {a.id for a in self.cache.accounts()}:
            self._finish()
