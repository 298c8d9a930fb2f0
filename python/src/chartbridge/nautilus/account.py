# nautilus_trader's compiled (Cython) modules ship no stubs: their names are Any here.
# mypy: disable-error-code="import-not-found"
"""An account's equity and drawdown, priced from the unrealized PnL its instruments' charts keep."""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Any

from ..series import Series
from . import contract, merge, recorder
from .compat import Venue
from .convert import decimal_value, units_value
from .points import Points

if TYPE_CHECKING:
    from .actor import ChartbridgeActor
    from .bars import BarChart
    from .ticks import TickChart

    Chart = BarChart | TickChart  # what an account prices: the PnL of an instrument's bars or ticks


class EquityCurve:
    """Equity of one account currency and its drawdown below the running peak, in percent."""

    def __init__(self, actor: ChartbridgeActor, venue: Venue, currency: str, precision: int) -> None:
        self.precision = precision
        equity_id, equity_title = contract.named("equity", f"{venue}:{currency}")
        drawdown_id, drawdown_title = contract.named("drawdown", f"{venue}:{currency}")
        self.equity_points = Points(actor, Series(equity_id, pane="equity", title=equity_title, source=actor.source,
                                                  precision=precision, unit=currency))
        self.drawdown_points = Points(actor, Series(drawdown_id, pane="drawdown", title=drawdown_title,
                                                    source=actor.source, precision=contract.DRAWDOWN_PRECISION,
                                                    unit="%"))
        self.peak = float("-inf")

    def add(self, t: int, value: float) -> None:
        self.extend(array("q", [t]), 0.0, array("d", [value]), 0, 1)

    def extend(self, t: array[int], balance: float, pnl: array[float] | None, start: int, end: int) -> None:
        """Points at times ``t``: ``balance`` plus ``pnl[start:end]`` (or ``balance`` alone)."""
        self.peak = recorder.equity(balance, pnl, start, end, self.peak, self.equity_points.v, self.drawdown_points.v,
                                    self.precision)
        self.equity_points.t.extend(t)
        self.drawdown_points.t.extend(t)


class Applies:
    """Where the entries of the actor's log apply among a chart's PnL points, while its recorder
    prices each bar (``recorder.price_each``): from the first point priced after them."""

    def __init__(self, chart: BarChart) -> None:
        self.chart = chart
        self.marks: list[int] = chart.recorder.marks  # (log entries, points before them) pairs, flat
        self.end = len(chart.pnl_points.t)  # entries after the last bar apply from there
        self.k = 0

    def at(self, entry: int) -> int:
        """The point log entry ``entry`` applies from (asked in increasing order of entries)."""
        marks = self.marks
        while self.k < len(marks) and marks[self.k] <= entry:
            self.k += 2
        return marks[self.k + 1] if self.k < len(marks) else self.end


class Account:
    """The account of one venue: balances (refreshed by account events), the unrealized PnL of
    its instruments, and equity and drawdown per currency.

    Per-bar state is keyed by chart objects and currency codes, never by Nautilus identifiers:
    hashing an ``InstrumentId`` or ``Venue`` costs about a microsecond.

    Nothing here runs per bar. While the actor is ``deferred`` (``remode``), the recorder of the
    one chart (``deferred_chart``) prices each bar and the actor's walk of its log at each
    hand-over applies the account events (``apply``) and charts the equity between them
    (``settle_to``). Otherwise ``settle`` charts the PnL and equity of the bars received since
    the last settle, with the positions and balances of now, so the actor settles before those
    change (an order fill, a position or account event) and at each hand-over. A margin
    account with one charted instrument (``lazy``) computes its equity from the recorded PnL in
    one warm loop; otherwise each bar's equity is charted in time order. A cash account's
    holdings are valued by Nautilus at the current prices, so its bars settle one by one
    (``eager``).
    """

    def __init__(self, actor: ChartbridgeActor, venue: Venue) -> None:
        self.actor = actor
        self.venue = venue
        self.margin = True
        self.eager = False  # a cash account valued by Nautilus: its bars settle one by one
        self.typed = False  # ``margin`` and ``eager`` were read from the account
        self.nautilus_account: Any = None  # the venue's, once it has one
        self.balances: dict[str, float] = {}
        self.precisions: dict[str, int] = {}  # digits per currency code, to add its amounts in its units
        self.pnls: dict[Chart, tuple[str | None, float]] = {}  # (settlement currency, PnL) per instrument
        self.curves: dict[str, EquityCurve] = {}
        self.charts: list[Chart] = []  # the instruments' charts
        self.lazy: Chart | None = None  # the one chart whose equity is computed from its PnL points
        self.deferred_chart: BarChart | None = None  # ``lazy``, priced as its bars come (``actor.remode``)
        self.settled = 0  # PnL points of ``lazy`` whose equity is charted
        self.refresh()

    def join(self, chart: Chart) -> None:
        self.settle()
        self.charts.append(chart)
        self._lazy()

    def _lazy(self) -> None:
        self.lazy = self.charts[0] if self.margin and len(self.charts) == 1 else None
        for chart in self.charts:
            chart.pace()
        self.actor.remode()

    def refresh(self) -> None:
        """Balances of now (an account event came), the bars before them settled. Inside a
        backtest each line here costs microseconds, its code and data cold: what never changes
        (the venue's account, its type, a currency's digits) is read once."""
        self.settle()
        account = self.nautilus_account
        if account is None:
            account = self.nautilus_account = self.actor.portfolio.account(self.venue)
            if account is None:
                return
        if not self.typed:
            self.typed = True
            self.margin = account.is_margin_account
            self.eager = not self.margin and hasattr(self.actor.portfolio, "equity")
            self._lazy()
        balances: dict[str, float] = {}
        for currency, money in account.balances_total().items():
            code = currency.code
            balances[code] = decimal_value(money)
            if code not in self.precisions:
                self.precisions[code] = currency.precision
        self.balances = balances

    def settle(self) -> None:
        """Chart the PnL, equity and drawdown of the bars received since the last settle, priced
        by the positions the position events since then left (``move``)."""
        if self.actor.moved and not self.actor.deferred:
            self.actor.move()
        if self.lazy is not None:
            if self.lazy.settle():  # most settles of a fill find nothing new
                self._settle_lazy()
            return
        counts = [chart.settle() for chart in self.charts]
        if not any(counts):
            return
        if self.eager:
            points = sorted((t, i, pnl) for i, (chart, count) in enumerate(zip(self.charts, counts)) if count
                            for t, pnl in zip(chart.pnl_points.t[-count:], chart.pnl_points.v[-count:]))
            for ns, i, pnl in points:
                chart = self.charts[i]
                self.chart(ns, chart, chart.currency, pnl)
        else:
            self._chart_many(counts)

    def _chart_many(self, counts: list[int]) -> None:
        """``chart`` for each point the charts got (``counts`` each), in time order, with the same
        values, by ``merge.merge`` (compiled: in Python it was ~24k instructions a bar of two
        instruments, most of the actor's cost on that shape)."""
        charts = self.charts
        ts, vs, ends = array("q"), array("d"), array("q")
        for chart, count in zip(charts, counts):
            if count:
                ts.extend(chart.pnl_points.t[-count:])
                vs.extend(chart.pnl_points.v[-count:])
            ends.append(len(ts))
        # Currencies with a curve: of a balance or a PnL held now; a chart's currency joins at its first point.
        codes = list(self.balances)
        for currency, _ in self.pnls.values():
            if currency is not None and currency not in codes:
                codes.append(currency)
        active = array("q", [1]) * len(codes)
        for chart in charts:
            if chart.currency is not None and chart.currency not in codes:
                codes.append(chart.currency)
                active.append(0)
        index: dict[str | None, int] = {None: -1, **{code: c for c, code in enumerate(codes)}}
        held = array("d", (self.pnls.get(chart, (None, 0.0))[1] for chart in charts))
        owner = array("q", (index[self.pnls.get(chart, (None, 0.0))[0]] for chart in charts))
        currencies = array("q", (index[chart.currency] for chart in charts))
        n = len(ts)
        out_t, out_v = array("q", [0]) * (len(codes) * n), array("d", [0.0]) * (len(codes) * n)
        got = array("q", [0]) * len(codes)
        merge.merge(ts, vs, ends, held, owner, currencies, array("d", (self.balances.get(code, 0.0) for code in codes)),
                    array("q", (self.precisions[code] for code in codes)), active, out_t, out_v, got)
        for i, chart in enumerate(charts):
            if counts[i]:
                self.pnls[chart] = chart.currency, held[i]
        for c, code in enumerate(codes):
            if got[c]:
                self.curve(code).extend(out_t[c * n:c * n + got[c]], 0.0, out_v, c * n, c * n + got[c])

    def apply(self, event: Any) -> None:
        """The balances after an account event (``AccountState``), as Nautilus's ``Account.apply``
        updates them: the currencies it reports."""
        for balance in event.balances:
            currency = balance.currency
            self.balances[currency.code] = decimal_value(balance.total)
            self.precisions.setdefault(currency.code, currency.precision)

    def settle_to(self, end: int | None) -> None:
        """Deferred (``actor.remode``): chart the equity of ``deferred_chart``'s PnL points before
        ``end`` (None: all) with the balances of now."""
        assert self.deferred_chart is not None
        self._settle_lazy(self.deferred_chart, end)

    def _settle_lazy(self, chart: Chart | None = None, end: int | None = None) -> None:
        chart = chart or self.lazy
        assert chart is not None
        t, pnls = chart.pnl_points.t, chart.pnl_points.v
        start, end = self.settled, len(t) if end is None else end
        if start >= end:
            return
        self.settled = end
        currency = chart.currency
        self.pnls[chart] = currency, pnls[end - 1]
        times = t[start:end]
        for code in list(self.balances) + ([currency] if currency is not None and currency not in self.balances
                                           else []):
            self.curve(code).extend(times, self.balances.get(code, 0.0), pnls if code == currency else None, start, end)

    def curve(self, currency: str) -> EquityCurve:
        curve = self.curves.get(currency)
        if curve is None:
            curve = self.curves[currency] = EquityCurve(self.actor, self.venue, currency, self.precisions[currency])
        return curve

    def equity(self) -> dict[str, float]:
        """Balance plus unrealized PnL per currency (Nautilus's equity of a margin account); a
        cash account's holdings are valued by Nautilus (``Portfolio.equity``, 1.222+)."""
        if self.eager:
            return {c.code: decimal_value(m) for c, m in self.actor.portfolio.equity(self.venue).items()}
        amounts: dict[str, tuple[float, ...]] = {code: (value,) for code, value in self.balances.items()}
        for currency, value in self.pnls.values():
            if currency is not None:
                amounts[currency] = amounts.get(currency, ()) + (value,)
        return {code: units_value(values, self.precisions[code]) for code, values in amounts.items()}

    def chart(self, t: int, chart: Chart, currency: str | None, pnl: float) -> None:
        self.pnls[chart] = currency, pnl
        for code, value in self.equity().items():
            self.curve(code).add(t, value)

