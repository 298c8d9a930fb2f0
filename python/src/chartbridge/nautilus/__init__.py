"""NautilusTrader integration: ``ChartbridgeActor`` charts a backtest or live node with no
decorator, and Nautilus values (``Bar``, ``QuoteTick``, ``Price``, indicators...) chart as
numbers by the rule in ``chartbridge.nautilus.convert``.

>>> from chartbridge.nautilus import ChartbridgeActor
>>> engine.add_actor(ChartbridgeActor())
"""

from . import convert as convert
from .actor import ChartbridgeActor
from .config import ChartbridgeConfig

__all__ = ["ChartbridgeActor", "ChartbridgeConfig"]
