# nautilus_trader's compiled (Cython) modules ship no stubs: their names are Any here.
# mypy: disable-error-code="import-not-found"
"""The end-of-run results of a Nautilus run: the portfolio analyzer's statistics and the closed
positions of each account, kept apart (SPEC section 8: ``<account id> | <name>``), so two
venues' accounts do not overwrite each other's returns and general statistics."""

from __future__ import annotations

from typing import Any

from .compat import Position
from .convert import decimal_value

Stats = dict[str, Any]
Trades = list[dict[str, Any]]


def account_results(analyzer: Any, account: Any, positions: list[Position]) -> tuple[Stats, Trades]:
    """The statistics the analyzer calculated for ``account`` (its last ``calculate_statistics``)
    and its closed ``positions`` as trades, in the order they opened."""
    group = str(account.id)
    stats = {f"{group} | {name} ({currency})": value for currency in analyzer.currencies
             for name, value in analyzer.get_performance_stats_pnls(currency).items()}
    stats.update((f"{group} | {name}", value) for name, value in analyzer.get_performance_stats_returns().items())
    stats.update((f"{group} | {name}", value) for name, value in analyzer.get_performance_stats_general().items())
    trades = [{
        "entry_t": p.ts_opened, "exit_t": p.ts_closed, "side": p.entry.name.lower(),
        "entry_price": p.avg_px_open, "exit_price": p.avg_px_close, "pnl": decimal_value(p.realized_pnl),
        "qty": decimal_value(p.peak_qty), "return": p.realized_return, "instrument": str(p.instrument_id),
        "position": str(p.id), "account": group,
    } for p in sorted(positions, key=lambda p: p.ts_opened) if p.is_closed]
    return stats, trades


def merged(per_account: dict[Any, tuple[Stats, Trades]]) -> tuple[Stats, Trades]:
    """One results value for the run: every account's statistics, and the trades by opening time."""
    stats = {name: value for account_stats, _ in per_account.values() for name, value in account_stats.items()}
    trades = sorted((t for _, account_trades in per_account.values() for t in account_trades),
                    key=lambda t: t["entry_t"])
    return stats, trades
