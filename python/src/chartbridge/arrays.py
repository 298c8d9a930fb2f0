"""The ``array('q')`` and ``array('d')`` buffers that points are appended to, emptied for the next batch.

Compiled (arrays.pxd), ``clear`` keeps the buffer's memory, and the compiled appends (``fastline``,
the Nautilus recorder) grow it with ``arrays.pxd``'s ``grow``, which never shrinks it: emptied by
``del buffer[:]``, a buffer was freed at each batch and grown again from nothing, its points copied
at every step, which was most of the memory copying a charted backtest added (callgrind's cache
simulation of python/bench/nautilus_overhead.py's short shape). Interpreted, it is ``del``.

``column_bytes`` (compiled only) copies one column of interleaved points out to bytes.
"""

from __future__ import annotations

from array import array
from typing import Any

COMPILED = not __file__.endswith(".py")


def clear(buffer: array[Any]) -> None:
    """Empty ``buffer`` in place (its memory kept when compiled)."""
    if COMPILED:
        grow(buffer, 0, buffer.itemsize)  # type: ignore[name-defined]  # noqa: F821
    else:
        del buffer[:]


def column_bytes(values: array[float], start: int, stop: int, width: int, i: int) -> bytes:
    """Compiled only: the native bytes of column ``i`` of points ``start:stop`` of ``values``,
    which holds ``width`` values a point. A strided memoryview's ``tobytes`` copies each value
    through CPython's generic loop (~50 instructions a value: a candle series' five columns at
    every hand-over)."""
    n = stop - start
    out = new_bytes(n * 8)  # type: ignore[name-defined]  # noqa: F821
    dst = bytes_doubles(out)  # type: ignore[name-defined]  # noqa: F821
    src = values.data.as_doubles  # type: ignore[attr-defined]
    for k in range(n):
        dst[k] = src[(start + k) * width + i]
    return out  # type: ignore[no-any-return]
