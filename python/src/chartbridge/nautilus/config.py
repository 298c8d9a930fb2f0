# nautilus_trader's compiled (Cython) modules ship no stubs: their names are Any here.
# mypy: disable-error-code="import-not-found"
# mypy: disallow-subclassing-any=False
"""``ChartbridgeConfig``: the actor's settings (a Nautilus ``ActorConfig``, importable by path)."""

from __future__ import annotations

from nautilus_trader.config import ActorConfig


class ChartbridgeConfig(ActorConfig, frozen=True):
    """``run``: the run id (default: the configured ``cb.configure(run=...)``, else generated
    from the strategies' names; inside a ``cb.run`` block, that block's run).
    ``indicator_panes``: indicator attribute or class name -> pane, overriding the default.
    ``backtest_batch`` (default 5000): bars gathered by the actor before their points go to the
    SDK's buffers during a backtest (a live node hands over every bar at once); each hand-over
    also sends what waits to Redis, from the backtest's own thread (``Producer.pace``).
    ``tick_sample_interval`` (default 60 s of event time): an instrument charted from ticks alone
    gets at most one unrealized PnL and equity point per interval (its last tick's), plus the
    points around each fill (protocol/SPEC.md section 8)."""

    run: str | None = None
    indicator_panes: dict[str, str] | None = None
    backtest_batch: int = 5000
    tick_sample_interval: float = 60.0

