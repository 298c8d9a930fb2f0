# nautilus_trader's compiled (Cython) modules ship no stubs: their names are Any here.
# mypy: disable-error-code="import-not-found"
"""Everything charted on the bars of one bar type: candles, registered indicators, unrealized PnL."""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any

from .. import session
from ..protocol import sanitize_series_id
from ..series import Series, Source
from . import contract, recorder
from .compat import MOVING_AVERAGES, BarType, InstrumentId, Position, indicators
from .points import Points

if TYPE_CHECKING:
    from .actor import ChartbridgeActor

log = logging.getLogger("chartbridge")

# Indicators drawn in price units, over the bars; any other indicator gets a pane of its own.
# (IchimokuCloud is newer than 1.221.)
PRICE_PANE = MOVING_AVERAGES + tuple(getattr(indicators, name) for name in (
    "BollingerBands", "DonchianChannel", "KeltnerChannel", "IchimokuCloud", "LinearRegression",
    "VolumeWeightedAveragePrice") if hasattr(indicators, name))
# The outputs of an indicator: the first group it has, else its ``value``.
OUTPUTS = (("upper", "middle", "lower"), ("value_k", "value_d"),
            ("tenkan_sen", "kijun_sen", "senkou_span_a", "senkou_span_b"), ("value",))


def outputs_of(indicator: Any) -> tuple[str, ...]:
    return next((group for group in OUTPUTS if all(isinstance(getattr(indicator, a, None), float) for a in group)),
                ())



_SOURCES: dict[type, Source] = {}  # per class: inspect parses the class's whole module (~0.5 ms), a run asks per series


def source_of(component: object) -> Source:
    """The file and line of a component's class, so the editor can jump from a series to it."""
    cls = type(component)
    if cls not in _SOURCES:
        try:
            _SOURCES[cls] = inspect.getsourcefile(cls) or "", inspect.getsourcelines(cls)[1]
        except (OSError, TypeError):
            _SOURCES[cls] = "", 0
    return _SOURCES[cls]



class BarChart:
    """Everything charted on the bars of one bar type.

    Its ``recorder``'s ``record`` is the bus handler of the bars: it records each bar's candle, the values
    of the registered indicators and the close; PnL and equity are made from the kept closes
    when they are settled (``settle``), in one warm loop.
    """

    def __init__(self, actor: ChartbridgeActor, bar_type: str, pane: str, primary: bool) -> None:
        self.actor = actor
        self.id = bar_type
        self.pane = pane
        self.instrument_id: InstrumentId = BarType.from_str(bar_type).instrument_id
        series_id, title = contract.bars(bar_type)
        instrument = actor.cache.instrument(self.instrument_id)
        self.candles = Points(actor, Series(series_id, kind="candlestick", pane=pane, title=title,
                                            source=actor.source, precision=contract.precision(instrument, "price")))
        # Positions and equity follow the first bar type of an instrument only, so two bar
        # types of one instrument do not chart them twice.
        self.account = actor.account(self.instrument_id.venue) if primary else None
        if primary:
            series_id, title = contract.named("unrealized_pnl", str(self.instrument_id))
            settlement = instrument.get_settlement_currency() if instrument is not None else None
            self.settlement = settlement  # what its positions' PnL is in
            self.pnl_points = Points(actor, Series(series_id, pane="pnl", title=title, source=actor.source,
                                                   precision=None if settlement is None else settlement.precision,
                                                   unit=None if settlement is None else settlement.code))
        self.positions: list[Position] = []  # open, set by position events
        self.currency: str | None = None  # their settlement currency
        self.warned = False
        self.recorder = recorder.BarRecorder(self.candles.t, self.candles.v, self._on_batch, self._failed,
                                             actor.batch, primary)
        if self.account is not None:
            self.account.join(self)

    def hold(self, currency: Any) -> None:
        """Its positions' PnL is in ``currency`` (a Nautilus ``Currency``; None: no position open)."""
        if currency is not None and currency.code != self.currency:
            assert self.account is not None
            self.account.precisions[currency.code] = currency.precision
        self.currency = currency.code if currency is not None else None

    def add_indicators(self, owner: Any) -> None:
        names = {id(value): name for name, value in vars(owner).items()} if hasattr(owner, "__dict__") else {}
        panes = self.actor.config.indicator_panes or {}
        for indicator in owner.registered_indicators:
            if not self.actor.claim(indicator):
                continue
            name = names.get(id(indicator)) or sanitize_series_id(repr(indicator))
            outputs = outputs_of(indicator)
            pane = panes.get(name) or panes.get(type(indicator).__name__) or (
                self.pane if isinstance(indicator, PRICE_PANE) else name)
            for out in outputs:
                points = Points(self.actor, Series(f"{owner.id}.{name}" + (f".{out}" if len(outputs) > 1 else ""),
                                                   pane=pane, title=f"{name} {indicator!r}", source=source_of(owner)))
                self.recorder.reads.append((indicator, out, points.t, points.v))

    def pace(self) -> None:
        """A cash account valued by Nautilus settles each bar, any other every ``actor.batch``."""
        self.recorder.batch = 1 if self.account is not None and self.account.eager else self.actor.batch

    def _on_batch(self) -> None:
        actor = self.actor
        if self.account is not None and self.account.eager:
            self.recorder.pending = 0
            self.account.settle()
            actor.bars_pending += 1
            if actor.bars_pending < actor.batch:
                return
        actor.drain()

    def _failed(self) -> None:
        """The recorder's ``on_error``: logs instead of raising, like ``ChartbridgeActor.guarded``."""
        session.current().count_rejected()
        if not self.warned:
            self.warned = True
            log.exception("chartbridge: charting a bar of %s failed (further failures are only counted in "
                          "cb.stats())", self.id)

    def settle(self) -> int:
        """Unrealized PnL of the bars received since the last settle, priced by the positions
        open now, into ``pnl_points``; returns how many. (Portfolio.unrealized_pnl would re-price
        through the cache at ~40 us a bar.)"""
        if self.account is None or not self.recorder.kept:  # e.g. the second and third settle of a fill
            return 0
        count: int = self.recorder.pnl(self.positions, self.pnl_points.v)
        if count:
            self.pnl_points.t.extend(self.candles.t[len(self.candles.t) - count:])
        return count

