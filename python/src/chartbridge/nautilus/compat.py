# nautilus_trader ships no stubs in 1.x (its names are Any here); mypy runs in the 1.x venv, where 2.x names are absent.
# mypy: disable-error-code="import-not-found,attr-defined"
"""Which NautilusTrader line is installed, and the names both lines share, from where each keeps them.

1.x (1.221 to 1.231) is the Cython core: its types live in submodules (``model.data``,
``model.objects``...), every indicator derives from ``indicators.base.Indicator``, and the
actor in ``actor.py`` reads the message bus and the compiled recorder reads C structs. 2.x is
the Rust engine with PyO3 bindings: the same types are flat in ``nautilus_trader.model``, the
indicators share no base class, and ``v2.py`` is its actor.
"""

from __future__ import annotations

import nautilus_trader
from nautilus_trader import indicators

V2 = int(nautilus_trader.__version__.split(".")[0]) >= 2

if V2:
    from nautilus_trader.model import (FIXED_PRECISION, Bar, BarType, InstrumentId, Money, OrderSide, Position, Price,
                                       Quantity, QuoteTick, TradeTick, Venue)

    # Every indicator class (the PyO3 ones share no base), for ``isinstance``.
    INDICATOR: tuple[type, ...] = tuple(
        c for c in vars(indicators).values() if isinstance(c, type) and hasattr(c, "initialized")
        and hasattr(c, "handle_bar"))
    # The averages (1.x's MovingAverage subclasses), drawn in price units over the bars.
    MOVING_AVERAGES: tuple[type, ...] = tuple(
        c for c in INDICATOR if c.__name__.endswith(("MovingAverage", "DynamicAverage")))
else:
    from nautilus_trader.indicators.base import Indicator
    from nautilus_trader.model.data import Bar, BarType, QuoteTick, TradeTick
    from nautilus_trader.model.enums import OrderSide
    from nautilus_trader.model.identifiers import InstrumentId, Venue
    from nautilus_trader.model.objects import FIXED_PRECISION, Money, Price, Quantity
    from nautilus_trader.model.position import Position

    INDICATOR = (Indicator,)
    MOVING_AVERAGES = (indicators.MovingAverage,)

__all__ = ["FIXED_PRECISION", "INDICATOR", "MOVING_AVERAGES", "V2", "Bar", "BarType", "InstrumentId", "Money",
           "OrderSide", "Position", "Price", "Quantity", "QuoteTick", "TradeTick", "Venue", "indicators"]
