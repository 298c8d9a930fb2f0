"""The equity of an account whose PnL comes from several charts (instruments), merged in time
order, compiled when it can be.

``merge`` takes the PnL points each chart got since the last settle, one after the other in
``ts`` and ``vs`` (chart ``j``'s are ``ends[j - 1]:ends[j]``), and charts each in time order (then
by chart, then as received): the PnL a chart holds (``held``, counted in currency ``owner``)
becomes the point's, in the chart's settlement currency now (``currency``), and each currency
that is ``active`` gets a point of its equity at that time: its balance plus the PnL held in it,
added in its units as ``units_value`` does (exact), or NaN while one of them is NaN. A currency
becomes active with the first point of a chart settled in it. The points of currency ``c`` are
written to ``out_t``/``out_v`` from ``c * len(ts)``, and how many to ``counts[c]``.

One source, two forms (Cython's pure-Python mode, ``merge.pxd`` gives the C types,
``python/setup.py`` builds it): compiled, the units are C doubles (each amount rounded half to
even as Python's ``round``, exact while every sum stays within 2**53, then one correctly rounded
division by an exact power of ten, as Python's int division), and the Python ``units_value``
otherwise; interpreted, ``units_value`` always. ``COMPILED`` says which. Two instruments of one
account, 2 x 10k bars (callgrind): the merge in Python cost ~24k instructions a bar, 1.110x of the
plain backtest's instructions with everything charted; compiled, 1.065x.
"""

from __future__ import annotations

from array import array

from .convert import units_value

COMPILED = not __file__.endswith(".py")
_EXACT = 2.0**53  # integers up to this are doubles exactly
_SCALES = 22  # 10**p is a double exactly up to this p


def value(balance: float, precision: int, held: array[float], owner: array[int], c: int) -> float:
    """``balance`` plus the PnL ``held`` in currency ``c``, added in its units (``units_value``)."""
    if COMPILED and precision <= _SCALES:
        scale = 10.0**precision
        units = rint(balance * scale)  # type: ignore[name-defined]  # noqa: F821  (libc, cimported by merge.pxd)
        exact = fabs(units) <= _EXACT  # type: ignore[name-defined]  # noqa: F821  (NaN: not exact)
        for i in range(len(held)):
            if exact and owner[i] == c:
                part = rint(held[i] * scale)  # type: ignore[name-defined]  # noqa: F821
                units += part
                exact = fabs(part) <= _EXACT and fabs(units) <= _EXACT  # type: ignore[name-defined]  # noqa: F821
        if exact:
            return units / scale  # type: ignore[no-any-return]
    amounts = [balance] + [held[i] for i in range(len(held)) if owner[i] == c]
    return units_value(tuple(amounts), precision)


def order(ts: array[int], ends: array[int], at: array[int], of: array[int]) -> None:
    """Write to ``at`` the indices of ``ts`` in time order, then by chart, then as received, and
    to ``of`` the chart of each."""
    n, charts = len(ts), len(ends)
    heads = array("q", bytes(8 * charts))
    start = 0
    for j in range(charts):  # each chart's points are in time order, unless a bar came older than the last
        heads[j] = start
        for k in range(start + 1, ends[j]):
            if ts[k] < ts[k - 1]:
                _sorted(ts, ends, at, of)
                return
        start = ends[j]
    for m in range(n):  # merge the charts' runs: the earliest head next, the first chart's on a tie
        best = -1
        for j in range(charts):
            if heads[j] < ends[j] and (best < 0 or ts[heads[j]] < ts[heads[best]]):
                best = j
        at[m], of[m] = heads[best], best
        heads[best] += 1


def _sorted(ts: array[int], ends: array[int], at: array[int], of: array[int]) -> None:
    """``order`` by sorting (a stable sort keeps what was received first first)."""
    charts = [next(j for j in range(len(ends)) if k < ends[j]) for k in range(len(ts))]
    for m, k in enumerate(sorted(range(len(ts)), key=lambda k: (ts[k], charts[k]))):
        at[m], of[m] = k, charts[k]


def merge(ts: array[int], vs: array[float], ends: array[int], held: array[float], owner: array[int],
          currency: array[int], balances: array[float], precisions: array[int], active: array[int],
          out_t: array[int], out_v: array[float], counts: array[int]) -> None:
    """See the module docstring (``counts``: how many points each currency got)."""
    n, charts, currencies = len(ts), len(ends), len(balances)
    if len(vs) != n or len(held) != charts or len(owner) != charts or len(currency) != charts \
            or len(precisions) != currencies or len(active) != currencies or len(counts) != currencies \
            or len(out_t) < currencies * n or len(out_v) < currencies * n or (charts and ends[charts - 1] != n):
        raise ValueError("merge: the arrays' lengths do not match")
    at, of = array("q", bytes(8 * n)), array("q", bytes(8 * n))
    order(ts, ends, at, of)
    for c in range(currencies):
        counts[c] = 0
    for m in range(n):
        k, j = at[m], of[m]
        held[j], owner[j] = vs[k], currency[j]
        if currency[j] >= 0:
            active[currency[j]] = 1
        for c in range(currencies):
            if active[c]:
                out = c * n + counts[c]
                out_t[out] = ts[k]
                out_v[out] = value(balances[c], precisions[c], held, owner, c)
                counts[c] += 1
