# nautilus_trader's compiled (Cython) modules ship no stubs: their names are Any here.
# mypy: disable-error-code="import-not-found"
"""How Nautilus objects become chart numbers (the rule ``@cb.chart`` and friends follow).

| value | number |
|---|---|
| ``Price``, ``Quantity``, ``Money`` | its decimal value as float64 (``as_double()``; Money's currency is dropped) |
| ``Bar`` | its close (a candlestick/bar series takes open, high, low, close, volume) |
| ``QuoteTick`` | the mid price, ``(bid_price + ask_price) / 2`` |
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

from nautilus_trader.indicators.base import Indicator
from nautilus_trader.model.data import Bar, QuoteTick, TradeTick
from nautilus_trader.model.objects import Money, Price, Quantity

from ..protocol import ProtocolError
from ..series import Converter, register_resolver


def _mid(quote: QuoteTick) -> float:
    mid: float = (quote.bid_price.as_double() + quote.ask_price.as_double()) / 2.0
    return mid


def _indicator_value(indicator: Indicator) -> float | None:
    if not indicator.initialized:
        return None
    value = getattr(indicator, "value", None)
    if not isinstance(value, float):
        raise ProtocolError("E_VALUE", f"{indicator!r} has no single value: chart one of its outputs")
    return value


_EXACT: dict[type, Converter] = {
    Price: Price.as_double,
    Quantity: Quantity.as_double,
    Money: Money.as_double,
    Bar: lambda bar: bar.close.as_double(),
    QuoteTick: _mid,
    TradeTick: lambda trade: trade.price.as_double(),
}


def resolve(kind: type) -> Converter | None:
    """The converter for values of ``kind``, or None when the SDK's plain rule applies."""
    if kind in _EXACT:
        return _EXACT[kind]
    if issubclass(kind, Indicator):
        return _indicator_value
    return None


register_resolver(resolve)
