# nautilus_trader's compiled (Cython) modules ship no stubs: their names are Any here.
# mypy: disable-error-code="import-not-found"
"""Points of the actor's series, gathered in plain arrays and handed to the SDK in batches."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..arrays import clear
from ..protocol import ProtocolError, check_batch, check_points, columns_for
from ..series import Series
from . import contract

if TYPE_CHECKING:
    from .actor import ChartbridgeActor


class Points:
    """Points of one per-bar series, gathered in plain arrays and handed to the SDK in batches.

    Charting a bar touches about ten series; a checked ``PointBuffer.append`` costs ~1 us each,
    an ``array.append`` ~50 ns, and the batch is checked with the SDK's C-speed batch checks.
    The arrays are emptied in place, so the hot path can keep their bound ``append``.
    """

    def __init__(self, actor: ChartbridgeActor, series: Series) -> None:
        self.series = series
        self.buffer = actor.buffer(series)
        self.names = columns_for(series.kind, series.kind == "candlestick")
        self.t: array[int] = array("q")
        self.v: array[float] = array("d")
        self.count = 0  # points handed over, and the first and last time (the run's data identity)
        self.span: tuple[int, int] | None = None
        actor.points.append(self)

    def _handed(self, t: array[int]) -> None:
        self.count += len(t)
        self.span = (self.span[0] if self.span is not None else t[0], t[-1])

    def drain(self) -> None:
        """Hand the points over (``extend_points`` copies them) and empty the arrays in place,
        keeping their memory for the next batch (``arrays.clear``)."""
        if not self.t:
            return
        t, v, width = self.t, self.v, len(self.names)
        self._handed(t)
        try:
            check_points(self.series.kind, self.names, t, v)
            self.buffer.extend_points(self.names, t, v)
        except ProtocolError:  # e.g. an indicator gone NaN: chart the rest, count and log the bad points
            for i, ns in enumerate(t):
                self.series.record(tuple(v[i * width:(i + 1) * width]) if width > 1 else v[i], ns)
        finally:
            clear(t)
            clear(v)


class Markers(Points):
    """Markers of one series (a price and a marker object each), handed over like ``Points``."""

    def __init__(self, actor: ChartbridgeActor, series: Series) -> None:
        super().__init__(actor, series)
        self.markers: list[dict[str, Any]] = []

    def add(self, t: int, price: float, marker: dict[str, Any]) -> None:
        self.t.append(t)
        self.v.append(price)
        self.markers.append(marker)

    def drain(self) -> None:
        """``Points.drain`` for markers (``check_batch`` copies the points)."""
        if not self.t:
            return
        t, y, markers, self.markers = self.t, self.v, self.markers, []
        try:
            self.buffer.extend(check_batch("marker", t, {"y": y}, markers))
        except ProtocolError:  # chart the rest, count and log the bad points
            for i, ns in enumerate(t):
                self.series.record((y[i], markers[i]), ns)
        finally:
            clear(t)
            clear(y)



class FillMarkers(Markers):
    """Fill markers of one instrument (SPEC section 8): the fills of one order at one time (its
    partial fills) are one marker, of their total quantity at their quantity-weighted average
    price. A marker is final once its time is over: a fill of a later time came, or at a
    hand-over after the clock passed it, or at ``close`` (the end of the run); final markers are
    made at the hand-over, in one loop (made at each fill, between two bars of the backtest, the
    same steps cost several times as much: their code and data are cold there)."""

    def __init__(self, actor: ChartbridgeActor, series: Series, now: Callable[[], int]) -> None:
        super().__init__(actor, series)
        self.now = now
        # (order, time) -> side, (quantity, price) parts and position ids; in the order of first fills.
        # Nautilus's objects, printed when the marker is made (``str`` of each is a Rust call).
        self.open: dict[tuple[object, int], tuple[str, list[tuple[object, object]], list[object]]] = {}
        self.final: list[tuple[int, str, list[tuple[object, object]], list[object]]] = []  # (time, side, parts, positions)

    def fill(self, order: object, t: int, side: str, qty: object, price: object, position: object) -> None:
        self.close(before=t)
        _, parts, positions = self.open.setdefault((order, t), (side, [], []))
        parts.append((qty, price))
        if position is not None and position not in positions:
            positions.append(position)

    def close(self, before: int | None = None) -> None:
        """The markers of times before ``before`` (all when None) are final: no fill can join them."""
        for key in [k for k in self.open if before is None or k[1] < before]:
            self.final.append((key[1], *self.open.pop(key)))

    def drain(self) -> None:
        self.close(before=self.now())
        for t, side, parts, positions in self.final:
            average, text = contract.fill_marker(side.upper(), [(str(q), str(p)) for q, p in parts],
                                                 [str(p) for p in positions])
            self.add(t, float(average), {"side": side, "text": text})
        self.final.clear()
        super().drain()
