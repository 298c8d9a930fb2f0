# nautilus_trader's compiled (Cython) modules ship no stubs: their names are Any here.
# mypy: disable-error-code="import-not-found"
"""How Nautilus objects become chart numbers (the rule ``@cb.chart`` and friends follow).

| value | number |
|---|---|
| ``Price``, ``Quantity``, ``Money`` | the nearest float64 of its decimal value (``float(str(x))``, not ``as_double()``, which is one ulp off at times); Money's currency is dropped |
| ``Bar`` | its close (a candlestick/bar series takes open, high, low, close, volume) |
| ``QuoteTick`` | the mid price, ``(bid_price + ask_price) / 2`` of the decimals |
| ``TradeTick`` | its price |
| an ``Indicator`` | its ``value`` once ``initialized``; before that, no point (not an error) |
| an ``Indicator`` without a single ``value`` (e.g. ``BollingerBands``) | refused with ``E_VALUE``: return the output you mean (``bb.upper``) |

Anything else follows the SDK's plain rule (int, float, Decimal, numpy scalars; strings and
None are not numbers). The time of the point is unchanged: the integration clock (the actor sets
it to the event time), else the value's ``ts_event``/``ts_init``.

Importing this module registers the rule with the SDK; the SDK imports it on its own the first
time it sees a ``nautilus_trader`` value.
"""

from __future__ import annotations

import math
from typing import Any

from ..protocol import ProtocolError
from ..series import Converter, RowReader, register_resolver, register_row_reader
from .compat import FIXED_PRECISION, INDICATOR, Bar, Money, Price, Quantity, QuoteTick, TradeTick

_SCALE = 10**FIXED_PRECISION  # a raw is the decimal times this (16 digits, or 9 in the 64-bit build)


def decimal_value(value: Price | Quantity | Money | int) -> float:
    """The nearest float64 of the decimal a ``Price``, ``Quantity`` or ``Money`` (or a sum of
    their raws) holds, as parsing its string gives: Python's int division is correctly rounded."""
    return (value if isinstance(value, int) else value.raw) / _SCALE  # type: ignore[no-any-return]


def units_value(amounts: tuple[float, ...], precision: int) -> float:
    """The sum of amounts of a currency of ``precision`` digits, added in its units (exact)."""
    if any(math.isnan(a) for a in amounts):
        return math.nan
    scale: int = 10**precision
    units: int = sum(round(a * scale) for a in amounts)
    return units / scale


def _mid(quote: QuoteTick) -> float:
    return (quote.bid_price.raw + quote.ask_price.raw) / (2 * _SCALE)  # type: ignore[no-any-return]


def _indicator_value(indicator: Any) -> float | None:
    if not indicator.initialized:
        return None
    value = getattr(indicator, "value", None)
    if not isinstance(value, float):
        raise ProtocolError("E_VALUE", f"{indicator!r} has no single value: chart one of its outputs")
    return value


_EXACT: dict[type, Converter] = {
    Price: decimal_value,
    Quantity: decimal_value,
    Money: decimal_value,
    Bar: lambda bar: decimal_value(bar.close),
    QuoteTick: _mid,
    TradeTick: lambda trade: decimal_value(trade.price),
}


def resolve(kind: type) -> Converter | None:
    """The converter for values of ``kind``, or None when the SDK's plain rule applies."""
    if kind in _EXACT:
        if kind is Price or kind is Quantity:
            from . import recorder  # noqa: F401  # registers their C reader (fastline.read_decimals_with)
        return _EXACT[kind]
    if issubclass(kind, INDICATOR):
        return _indicator_value
    return None


def rows(kind: type) -> RowReader | None:
    """A ``Bar``'s candle columns read in C, when the compiled recorder is built for this version."""
    if kind is not Bar:
        return None
    from . import recorder  # not at the top: recorder imports this module

    return recorder.candle_row


register_resolver(resolve)
register_row_reader(rows)
