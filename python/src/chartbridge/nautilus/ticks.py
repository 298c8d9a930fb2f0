# nautilus_trader's compiled (Cython) modules ship no stubs: their names are Any here.
# mypy: disable-error-code="import-not-found"
"""What the actor charts of the quote and trade ticks the strategies subscribe to.

Per instrument (protocol/SPEC.md section 8): every quote's bid and ask (``bid:<instrument>``,
``ask:<instrument>``) and every trade's price (``trades:<instrument>``), as lines at the
instrument's price precision, on its bars' pane (else ``main`` for the run's first instrument,
else a pane of its own). An instrument with no bars charted also gets its unrealized PnL, and
its account equity and drawdown, from the ticks, sampled so that a million ticks do not make a
million points: the value at the last tick of each ``tick_sample_interval`` of event time, at
the last tick before each fill (with the position before it), and at each position event (with
the position after it and the prices of the last tick, which are Nautilus's then: a backtest's
venue fills an order after the tick that triggered it was handled, or before the tick that
filled it is published).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.model.data import QuoteTick, TradeTick
from nautilus_trader.model.enums import PositionSide
from nautilus_trader.model.identifiers import InstrumentId

from ..series import Series
from . import contract, recorder
from .convert import decimal_value
from .points import Points

if TYPE_CHECKING:
    from .actor import ChartbridgeActor

_QUOTES = "data.quotes."
_TRADES = "data.trades."


class TickChart:
    """Ticks of one instrument and, when its bars do not, its sampled unrealized PnL (an
    ``Account`` settles it as it settles a ``BarChart``).

    Its ``recorder``'s ``record`` (``recorder.TickRecorder``, compiled) is the bus handler of the
    instrument's ticks: each tick's prices go straight to its lines, and the ticks that end an
    interval are kept as samples. The samples are priced when they are settled (each hand-over,
    before a fill, at a position event, at the end), with the positions open then, which no
    tick since the last settle has changed.
    """

    def __init__(self, actor: ChartbridgeActor, instrument_id: InstrumentId, pane: str, priced: bool) -> None:
        self.actor = actor
        self.instrument_id = instrument_id
        self.pane = pane
        self.instrument = actor.cache.instrument(instrument_id)
        self.lines: dict[str, Points] = {}
        self.new = 0  # PnL points since the last settle
        self.account = actor.account(instrument_id.venue) if priced else None
        self.currency: str | None = None
        interval = max(1, round(actor.config.tick_sample_interval * 1e9)) if self.account is not None else 0
        self.recorder = recorder.TickRecorder(self._on_batch, actor.guarded(self._failed), actor.batch, interval)
        if self.account is not None:
            settlement = self.instrument.get_settlement_currency() if self.instrument is not None else None
            series_id, title = contract.named("unrealized_pnl", str(instrument_id))
            self.pnl_points = Points(actor, Series(series_id, pane="pnl", title=title, source=actor.source,
                                                   precision=None if settlement is None else settlement.precision,
                                                   unit=None if settlement is None else settlement.code))
            if settlement is not None:
                self.currency = settlement.code
                self.account.precisions[settlement.code] = settlement.precision
            self.account.join(self)

    def line(self, what: str) -> Points:
        points = self.lines.get(what)
        if points is None:
            series_id, title = contract.named(what, str(self.instrument_id))
            points = self.lines[what] = Points(self.actor, Series(
                series_id, pane=self.pane, title=title, source=self.actor.source,
                precision=contract.precision(self.instrument, "price")))
        return points

    def take(self, kind: type) -> None:
        """Ticks of ``kind`` will come: make their lines, where the recorder writes them."""
        if kind is QuoteTick:
            bid, ask = self.line("bid"), self.line("ask")
            self.recorder.take_quotes(bid.t, bid.v, ask.t, ask.v)
        else:
            trades = self.line("trades")
            self.recorder.take_trades(trades.t, trades.v)

    def _on_batch(self) -> None:
        if self.account is None:
            self.settle()  # no account settles it
        self.actor.drain()

    def _failed(self) -> None:
        raise  # the recorder's on_error, inside its ``except``: counted and logged by ``guarded``

    def settle(self) -> int:
        """Chart the PnL at the last tick of each interval closed since the last settle; returns
        how many PnL points were made since the last settle (what ``Account`` asks)."""
        self.recorder.pending = 0
        samples = self.recorder.samples
        if samples and self.account is not None:
            self.recorder.samples = []
            positions = self.actor.cache.positions_open(instrument_id=self.instrument_id)
            for t, quote, trade in samples:
                self.emit(t, positions, quote, trade)
        count, self.new = self.new, 0
        return count

    def emit(self, t: int, positions: list[Any] | None = None, quote: Any = None, trade: Any = None) -> None:
        """Chart the unrealized PnL at ``t``: ``positions`` (default: those open now) priced as
        Nautilus prices them (long at the bid, short at the ask, else at the last trade) by
        ``quote`` and ``trade`` (default: the last ones recorded), added as raws."""
        if quote is None and trade is None:
            quote, trade = self.recorder.quote, self.recorder.trade
        raw = 0
        for position in positions if positions is not None else self.actor.cache.positions_open(
                instrument_id=self.instrument_id):
            price = (quote.bid_price if position.side == PositionSide.LONG else quote.ask_price) if quote is not None \
                else trade.price if trade is not None else None
            if price is not None:
                raw += position.unrealized_pnl(price).raw
        self.pnl_points.t.append(t)
        self.pnl_points.v.append(decimal_value(raw))
        self.new += 1

    def settle_pending(self) -> None:
        """Settle, and chart the last tick recorded even if a later one of its interval may come."""
        self.new += self.settle()
        if self.recorder.last is not None:
            self.emit(self.recorder.last_t)
            self.recorder.last = None

    def on_position(self, t: int) -> None:
        self.new += self.settle()
        self.emit(t)

    def pace(self) -> None:
        """Ticks are handed over by their own count (the recorder's ``batch``), whatever the account."""


class Ticks:
    """The tick charts of one run, and the bus handlers that feed them."""

    def __init__(self, actor: ChartbridgeActor) -> None:
        self.actor = actor
        self.charts: dict[InstrumentId, TickChart] = {}
        self.recorded: set[str] = set()  # the tick topics charted
        self._discover_quotes = actor.guarded(lambda tick: self._discover(_QUOTES, tick))
        self._discover_trades = actor.guarded(lambda tick: self._discover(_TRADES, tick))
        self._position = actor.guarded(self._on_position)

    def start(self) -> None:
        self.actor._subscribe(_QUOTES + "*", self._discover_quotes)
        self.actor._subscribe(_TRADES + "*", self._discover_trades)

    def rearm(self) -> None:
        """A component started later may subscribe to more ticks: look again at the next tick."""
        self.start()

    def _discover(self, prefix: str, first: Any) -> None:
        """At the first tick of a kind: chart the instruments the components take that kind of."""
        handler = self._discover_quotes if prefix == _QUOTES else self._discover_trades
        self.actor._unsubscribe(prefix + "*", handler)
        subscriptions = self.actor.msgbus.subscriptions(prefix + "*")
        owners = ((sub.topic, getattr(sub.handler, "__self__", None)) for sub in subscriptions)
        topics = {topic for topic, owner in owners
                  if "*" not in topic and isinstance(owner, Actor) and owner is not self.actor} - self.recorded
        for topic in sorted(topics):
            self.recorded.add(topic)
            venue, _, symbol = topic[len(prefix):].partition(".")
            instrument_id = InstrumentId.from_str(f"{symbol}.{venue}")
            chart = self.chart(instrument_id)
            chart.take(QuoteTick if prefix == _QUOTES else TradeTick)
            self.actor._subscribe(topic, chart.recorder.record)
            if instrument_id == first.instrument_id:
                chart.recorder.record(first)

    def chart(self, instrument_id: InstrumentId) -> TickChart:
        chart = self.charts.get(instrument_id)
        if chart is None:
            bars = [c for c in self.actor._charts.values() if c.instrument_id == instrument_id]
            barred = bool(bars) or any(s.topic.startswith(f"data.bars.{instrument_id}-")
                                       for s in self.actor.msgbus.subscriptions("data.bars.*"))
            pane = bars[0].pane if bars else "main" if not self.charts and not barred else str(instrument_id)
            chart = self.charts[instrument_id] = TickChart(self.actor, instrument_id, pane, priced=not barred)
            if chart.account is not None:  # its PnL at each position event; without one, no call an event
                self.actor._subscribe("events.position.*", self._position)
        return chart

    def _on_position(self, event: Any) -> None:
        chart = self.charts.get(event.instrument_id)
        if chart is not None and chart.account is not None:
            chart.on_position(event.ts_event)

    def before_fill(self) -> None:
        """Chart each instrument's last tick with the positions before the fill that is about to move them."""
        for chart in self.charts.values():
            if chart.account is not None:
                chart.settle_pending()

    def finish(self) -> None:
        for chart in self.charts.values():
            if chart.account is not None:
                chart.settle_pending()

    def target(self, instrument_id: InstrumentId) -> str | None:
        """The series an instrument's fill markers draw on when it has no bars: its trades, else its bids."""
        chart = self.charts.get(instrument_id)
        if chart is None:
            return None
        line = chart.lines.get("trades") or chart.lines.get("bid")
        return line.series.id if line is not None else None
