"""NautilusTrader integration: ``ChartbridgeActor`` charts a backtest or live node with no
decorator, and Nautilus values (``Bar``, ``QuoteTick``, ``Price``, indicators...) chart as
numbers by the rule in ``chartbridge.nautilus.convert``.

>>> from chartbridge.nautilus import ChartbridgeActor
>>> engine.add_actor(ChartbridgeActor())
"""

from . import convert as convert
from .compat import V2

if not V2:
    from .actor import ChartbridgeActor
    from .config import ChartbridgeConfig
else:  # NautilusTrader 2, the Rust engine: its own actor (see v2.py)
    from .v2 import ChartbridgeActor, ChartbridgeConfig  # type: ignore[assignment]

__all__ = ["ChartbridgeActor", "ChartbridgeConfig"]
