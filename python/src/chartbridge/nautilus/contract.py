"""The "Nautilus series" contract (protocol/SPEC.md section 8) as the actor writes it: series ids,
titles and panes, and the fill marker text. The server's bridge from Nautilus's own Redis message
bus writes the same for the same facts (src/server/nautilusSeries.ts); a test charts one backtest
both ways and compares them (test/nautilus-bus.test.ts)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
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


def _decimals(text: str) -> int:
    """The decimals a decimal is written with: ``1.08120`` has 5, ``100000`` 0."""
    return len(text) - text.index(".") - 1 if "." in text else 0


AVERAGE_EXTRA_DECIMALS = 2  # an average price is told to two decimals more than the parts' prices


def fill_marker(side: str, parts: list[tuple[str, str]], positions: list[str]) -> tuple[str, str]:
    """The marker of one order's fills at one time (its partial fills, SPEC section 8): the total
    quantity at the quantity-weighted average price, then the parts when there are several.
    ``parts`` are (quantity, price) as Nautilus prints them. Returns (average price, text)."""
    if len(parts) == 1 and "e" not in parts[0][1].lower():  # one fill: its own price and quantity
        (qty, price), = parts                                  # (what the rationals below give, ~40x faster)
        text = fill_text(side, qty, price, " ".join(positions) or None)
        return price, text if len(text) <= MAX_MARKER_TEXT else text[:MAX_MARKER_TEXT - 1] + "…"
    qtys = [Fraction(q) for q, _ in parts]
    total = sum(qtys, Fraction(0))
    decimals = max(_decimals(p) for _, p in parts)
    places = decimals + AVERAGE_EXTRA_DECIMALS
    # Exact rationals, then round() (half to even) of the average in units of 10**-places.
    units = round(sum((q * Fraction(p) for q, (_, p) in zip(qtys, parts)), Fraction(0)) * 10**places / total)
    while places > decimals and units % 10 == 0:  # no trailing zeros beyond the parts' decimals
        units, places = units // 10, places - 1
    average = f"{Decimal(units).scaleb(-places):f}"  # fixed point, never 1E-7
    total_qty = str(sum((Decimal(q) for q, _ in parts), Decimal(0)))
    text = fill_text(side, total_qty, average, " ".join(positions) or None)
    if len(parts) > 1:
        text += f" ({len(parts)} fills: " + ", ".join(f"{q} @ {p}" for q, p in parts) + ")"
    return average, text if len(text) <= MAX_MARKER_TEXT else text[:MAX_MARKER_TEXT - 1] + "…"
