"""The "Nautilus series" contract (protocol/SPEC.md section 8) as the actor writes it: series ids,
titles and panes, and the fill marker text. The server's bridge from Nautilus's own Redis message
bus writes the same for the same facts (src/server/nautilusSeries.ts); a test charts one backtest
both ways and compares them (test/nautilus-bus.test.ts)."""

from __future__ import annotations

from typing import Any, Literal

from ..protocol import MAX_MARKER_TEXT, sanitize_series_id

STEPS = 1  # a position line's lineType, lightweight-charts LineType.WithSteps: a position holds until it changes
DRAWDOWN_PRECISION = 2  # percent below the peak, to a hundredth


def precision(instrument: Any, what: Literal["price", "size"]) -> int | None:
    """The precision of an instrument's prices (candles) or sizes (positions), as ``Series``
    takes it (its tick is ``10**-precision``): the bus bridge knows no instrument, only the
    decimals Nautilus writes prices and sizes with, which are the instrument's precisions. None
    when the cache has no instrument (the chart infers a precision from the data)."""
    if instrument is None:
        return None
    return int(instrument.price_precision if what == "price" else instrument.size_precision)


def bars(bar_type: str) -> tuple[str, str]:
    """The id and title of a bar type's candles."""
    return sanitize_series_id(bar_type), bar_type


def named(what: str, subject: str) -> tuple[str, str]:
    """The id and title of ``what`` of ``subject``: ``fills:EUR/USD.SIM``, ``fills EUR/USD.SIM``."""
    return sanitize_series_id(f"{what}:{subject}"), f"{what} {subject}"


def fill_text(side: str, qty: str, price: str, position: str | None) -> str:
    """One fill: ``BUY 0.100 @ 42990.9 P-1`` (side, quantity and price as Nautilus prints them)."""
    return f"{side} {qty} @ {price}" + (f" {position}" if position else "")


def join_fill_texts(earlier: str | None, text: str) -> str:
    """Fills at one time are one chart point: its marker tells them all, within the text limit."""
    joined = text if earlier is None else f"{earlier}, {text}"
    return joined if len(joined) <= MAX_MARKER_TEXT else joined[:MAX_MARKER_TEXT - 1] + "…"
