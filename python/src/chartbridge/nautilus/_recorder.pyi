# The compiled BarRecorder (_recorder.pyx); its interface is documented in recorder.py.
from array import array
from collections.abc import Callable
from typing import Any

BUILT_FOR: str

class BarRecorder:
    reads: list[tuple[Any, str, array[int], array[float]]]
    pending: int
    batch: int
    def __init__(self, t: array[int], v: array[float], on_batch: Callable[[], None], on_error: Callable[[], None],
                 batch: int, keep_closes: bool) -> None: ...
    def __call__(self, bar: Any) -> None: ...
    def candles(self, bars: list[Any]) -> None: ...
    def pnl(self, positions: list[Any], out: array[float]) -> int: ...

def equity(balance: float, pnl: array[float] | None, start: int, end: int, peak: float, equity: array[float],
           drawdown: array[float], precision: int) -> float: ...
