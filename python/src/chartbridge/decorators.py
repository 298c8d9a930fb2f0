"""``@cb.chart``, the indicator decorators and ``@cb.signals``.

Each decorator turns the wrapped function's result into points after the call. The wrapper
never changes the result and never raises into the strategy (see ``series`` for the bad-input
rule). With ``CHARTBRIDGE=off`` (or ``enabled=False``) at decoration time the function itself is
returned; ``cb.configure(enabled=False)`` later costs one attribute check per call.
"""

from __future__ import annotations

import functools
import importlib.metadata
import inspect
import logging
import math
from collections.abc import Callable
from typing import Any, TypeVar, overload

from . import clock, conditions, fastline, session
from .indicators import EMA, RSI, SMA, Bollinger, Indicator, WilderRSI, bar_value, check_line, source_index
from .protocol import ProtocolError, check_finite, sanitize_series_id
from .series import (
    PluginSpec, RunScoped, Series, Source, caller_source, hint_strategy, instance_key, number,
    owner_class, side_of,
)

F = TypeVar("F", bound=Callable[..., Any])
Hook = Callable[[Any, tuple[Any, ...]], None]
Bind = Callable[[Any], "fastline.Sink | None"]
# A decorated function's charting for one calling object: from the key its series ids end with
# ("" for the first object, see ``series.instance_key``) to the hook and the fast path's bind.
Make = Callable[[str], tuple[Hook, "Bind | None"]]

log = logging.getLogger("chartbridge")


def _function(func: Any) -> Any:
    """The plain function inside a staticmethod/classmethod."""
    return func.__func__ if isinstance(func, (staticmethod, classmethod)) else func


def _base_id(func: Any, name: str | None) -> str:
    qualname: str = getattr(_function(func), "__qualname__", None) or repr(func)
    hint_strategy(qualname)
    return name if name is not None else sanitize_series_id(qualname)


class _Stamp:
    """An int ``ts_event``/``ts_init`` parameter, presented as an object with that attribute."""
    __slots__ = ("ts_event",)

    def __init__(self, ts: int) -> None:
        self.ts_event = ts


def _stamp_param(func: Any) -> tuple[int, str] | None:
    """Position and name of a parameter called ``ts_event`` or ``ts_init``, if ``func`` has one."""
    try:
        names = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return None
    for name in clock.TIME_ATTRIBUTES:
        if name in names:
            return names.index(name), name
    return None


class _Instances:
    """One decorated function's charting per calling object and run: a method called by two
    objects (two instances of one strategy, one per instrument) charts each one's points and
    indicator state apart, and a new run starts from fresh indicators (``make`` anew)."""

    def __init__(self, make: Make, cls: str | None, fast: bool) -> None:
        self.make, self.cls = make, cls
        self.units: dict[int, tuple[object, Hook, Bind | None]] = {}
        # The fast path's sink per object (``fastline.ChartedCall``), for a method.
        self.sinks: dict[int, tuple[object, fastline.Sink | None]] | None = {} if fast and cls else None
        self.scope = RunScoped(self.units, *([self.sinks] if self.sinks is not None else []))

    def unit(self, args: tuple[Any, ...]) -> tuple[object, Hook, Bind | None]:
        """(the calling object, its hook, its bind) for a call with positional ``args``."""
        self.scope.fresh()
        caller = args[0] if self.cls is not None and args else None
        found = self.units.get(id(caller))
        if found is None or found[0] is not caller:
            key = instance_key(self.cls, caller) if self.cls is not None else ""
            if key is None:  # not called on an instance of its class: one charting, as a function
                caller, key = None, ""
                found = self.units.get(id(None))
            if found is None or found[0] is not caller:
                found = self.units[id(caller)] = (caller, *self.make(key))
        return found


def _wrap(func: Any, make: Make, cls: str | None) -> Any:
    """Call the calling object's ``hook(result, args)`` (``make``) after every call of ``func``
    (sync or async, plain function, method, staticmethod or classmethod), keeping its name,
    signature and docstring. A parameter named ``ts_event``/``ts_init`` (int ns) gives the point
    its time, like such an attribute does. ``cls``: the class defining the method (None: a
    function, staticmethod or classmethod: one charting for every call).

    ``bind(result)``: after the hook, the sink of the fast path for the next call (see
    ``_fast``); without it, or with such a parameter, or on an async function, every call takes
    the hook."""
    if isinstance(func, (staticmethod, classmethod)):
        return type(func)(_wrap(func.__func__, make, None))
    stamp = _stamp_param(func)
    first = make("")  # now: a bad name or option raises at decoration
    fast = first[1] is not None and stamp is None and not inspect.iscoroutinefunction(func)
    owners = _Instances(make, cls, fast)
    if fast:
        return _fast(func, owners)

    def call_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        values = (*args, *kwargs.values()) if kwargs else args
        if stamp is None:
            return values
        at, name = stamp
        ts = kwargs.get(name, args[at] if at < len(args) else None)
        return (_Stamp(ts), *values) if isinstance(ts, int) and not isinstance(ts, bool) else values

    def failed() -> None:  # charting must never break the strategy
        log.exception("chartbridge: charting %s failed", getattr(func, "__qualname__", func))

    def after(result: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if session.ENABLED:
            try:
                owners.unit(args)[1](result, call_args(args, kwargs))
            except Exception:
                failed()
        return result

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            return after(await func(*args, **kwargs), args, kwargs)
        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return after(func(*args, **kwargs), args, kwargs)
    return wrapper


def _fast(func: Any, owners: _Instances) -> Any:
    """The wrapper with a fast path (``fastline.ChartedCall``).

    A decorated call inside a backtest runs with cold caches, where each Python step costs
    several times its warm price: the common case (see ``fastline``) goes straight into the
    buffers the sink bound when the previous call took the full path. Anything else (the first
    points, a new run, NaN, None, other types, no clock) goes through ``hook``, which checks,
    converts, rejects and logs exactly as before."""
    sinks = owners.sinks

    def full(result: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> fastline.Sink | None:
        """The full path; returns the sink to bind (None: none yet)."""
        try:
            caller, hook, bind = owners.unit(args)
            hook(result, (*args, *kwargs.values()) if kwargs else args)
            sink = bind(result) if bind is not None else None
            if sinks is not None and caller is not None:
                sinks[id(caller)] = (caller, sink)
            return sink
        except Exception:
            log.exception("chartbridge: charting %s failed", getattr(func, "__qualname__", func))
            return None
    return fastline.wrap(func, full, sinks)


def _decorator(func: F | None, enabled: bool, build: Callable[[Any, Source], Make], source: Source) -> Any:
    """Apply ``build(func, source) -> make`` now (bare ``@deco``) or on the function
    (``@deco(...)``); ``make`` as for ``_wrap``.

    ``source`` is the decorator's file and line, so the editor can jump from a series to it."""
    def decorate(f: F) -> F:
        if not enabled or not session.ENABLED:
            return f
        cls = None if isinstance(f, (staticmethod, classmethod)) else owner_class(_function(f))
        wrapped: F = _wrap(f, build(f, source), cls)
        return wrapped
    return decorate(func) if func is not None else decorate


@overload
def chart(func: F, /) -> F: ...
@overload
def chart(*, name: str | None = None, kind: str = "line", pane: str = "main", title: str | None = None,
          color: str | None = None, show: bool = True, enabled: bool = True, plugins: PluginSpec = None,
          **options: Any) -> Callable[[F], F]: ...


def chart(func: F | None = None, /, *, name: str | None = None, kind: str = "line", pane: str = "main",
          title: str | None = None, color: str | None = None, show: bool = True, enabled: bool = True,
          plugins: PluginSpec = None, **options: Any) -> Any:
    """Chart the return value of every call.

    >>> @cb.chart                                   # a line series named after the function
    ... def spread(self, quote) -> float: ...
    >>> @cb.chart(kind="candlestick", show=True)    # a Bar, a mapping or (o, h, l, c[, v])
    ... def on_bar(self, bar: Bar) -> Bar: ...

    ``name`` (default: the qualified name, e.g. ``EMACross.on_bar``), ``kind``, ``pane``,
    ``title``, ``color``, ``show`` and extra lightweight-charts options as for ``cb.series``;
    ``enabled=False`` leaves the function undecorated; ``plugins`` enables JS plugins for the
    run. A result of None charts nothing. Works on functions, methods, staticmethods,
    classmethods and async functions.
    """
    def build(f: Any, source: Source) -> Make:
        base = _base_id(f, name)
        conditions.scope(f, base)  # cb.condition in its body belongs to it

        def make(key: str) -> tuple[Hook, Bind | None]:
            s = Series(base + key, kind=kind, pane=pane, title=_title(title, key), color=color, show=show,
                       plugins=plugins, source=source, **options)

            def hook(result: Any, args: tuple[Any, ...]) -> None:
                s.record(result, clock.point_time((*args, result)))

            return hook, s.sink
        return make
    return _decorator(func, enabled, build, caller_source())


def _title(title: str | None, key: str) -> str | None:
    """A further instance's title names it (its series id does already when there is no title)."""
    return f"{title} {key[1:]}" if title is not None and key else title


def _is_bar(value: Any) -> bool:
    """A value an indicator reads through ``source=``: one with a ``close``."""
    return getattr(value, "close", None) is not None


def _input(value: Any, source: int, where: str) -> float | None:
    """The number an indicator follows: a bar's ``source``, else the value itself (None: no point)."""
    if _is_bar(value):
        return bar_value(value, source, where)
    x = number(value, where)
    return None if x is None else check_finite(x, where)


def _indicator(make: Callable[[], Indicator], label: str, source: str, raw: bool, name: str | None, pane: str,
               colors: tuple[str | None, ...], enabled: bool, options: dict[str, Any]) -> Callable[[F], F]:
    declared = caller_source(3)  # frames: caller_source, _indicator, ema/sma/..., the decorator line
    index = source_index(source)
    def build(f: Any, where: Source) -> Make:
        base = _base_id(f, name)
        return lambda key: _indicated(make(), label, index, raw, base, key, pane, colors, where, options)
    decorate: Callable[[F], F] = _decorator(None, enabled, build, declared)
    return decorate


def _indicated(indicator: Indicator, label: str, index: int, raw: bool, base: str, key: str, pane: str,
               colors: tuple[str | None, ...], where: Source, options: dict[str, Any]) -> tuple[Hook, Bind | None]:
    """The hook and bind of one indicator decorator for one calling object (series ids ending with ``key``)."""
    many = len(indicator.outputs) > 1
    outputs = [Series(f"{base}.{label}" + (f".{out}" if many else "") + key, pane=pane, color=color, source=where,
                      **options) for out, color in zip(indicator.outputs, colors)]
    raw_series = Series(base + key, pane=pane, source=where) if raw else None

    def hook(result: Any, args: tuple[Any, ...]) -> None:
        if result is None:
            return
        t = clock.point_time((*args, result))
        try:
            x = _input(result, index, base)
        except ProtocolError as exc:
            outputs[0].reject(exc)
            return
        if x is not None:
            feed(x, t)

    def feed(x: float, t: int | None) -> None:
        """The input ``x`` at ``t``: charted raw, fed to the indicator, its outputs charted (the
        fast path's drain hands it a point its lines declined)."""
        if raw_series is not None:
            raw_series.record(x, t)
        values = indicator.update(x)
        if values is not None:
            for s, v in zip(outputs, values):
                s.record(v, t)

    def bind(result: Any) -> fastline.Sink | None:
        """Once every series has its buffer in the run (the indicator has warmed up)."""
        lines = [s.line() for s in outputs]
        raw_line = raw_series.line() if raw_series is not None else None
        if any(line is None for line in lines) or (raw_series is not None and raw_line is None):
            return None
        bar = type(result) if _is_bar(result) else None
        return fastline.Indicated(indicator, bar, index, base, raw_line, lines, outputs,  # type: ignore[arg-type]
                                  raw_series, feed, None if bar is not None else fastline.reading_of(result))
    return hook, bind


@functools.cache
def installed_line() -> int:
    """The line of the installed NautilusTrader (2 from 2.0 on), 1 where none is: the indicator
    decorators' default ``nautilus``. Read from the package metadata, so nautilus_trader is not imported."""
    try:
        version = importlib.metadata.version("nautilus_trader")
    except importlib.metadata.PackageNotFoundError:
        return 1
    return 2 if int(version.split(".")[0]) >= 2 else 1


def _nautilus_line(nautilus: int | None) -> int:
    return installed_line() if nautilus is None else check_line(nautilus)


def ema(period: int, *, source: str = "close", raw: bool = False, name: str | None = None, pane: str = "main",
        color: str | None = None, enabled: bool = True, nautilus: int | None = None,
        **options: Any) -> Callable[[F], F]:
    """Chart Nautilus's ``ExponentialMovingAverage(period)`` of what the function returns, as
    series ``<name>.ema<period>``, charted from the ``period``-th value on: alpha = 2 / (period + 1),
    seeded with the first value (NautilusTrader 1.x) or the mean of the first ``period`` (2.x).

    ``nautilus`` (1 or 2) picks the NautilusTrader line whose definitions to follow; default:
    the installed one's, 1.x's where none is (``installed_line``). ``source`` picks a bar's input
    (a returned bar is a value with a ``close``): "close", "open", "high", "low", "hl2"
    ((h + l) / 2), "typical" ((h + l + c) / 3) or "ohlc4" ((o + h + l + c) / 4); a number is
    used as it is. ``raw=True`` also charts the input itself as ``<name>``. python/README.md
    states each decorator's definition against Nautilus's."""
    line = _nautilus_line(nautilus)
    return _indicator(lambda: EMA(period, line), f"ema{period}", source, raw, name, pane, (color,), enabled, options)


def sma(period: int, *, source: str = "close", raw: bool = False, name: str | None = None, pane: str = "main",
        color: str | None = None, enabled: bool = True, nautilus: int | None = None,
        **options: Any) -> Callable[[F], F]:
    """Chart Nautilus's ``SimpleMovingAverage(period)`` of what the function returns, as
    ``<name>.sma<period>``. ``nautilus``, ``source`` and ``raw`` as for ``ema``."""
    line = _nautilus_line(nautilus)
    return _indicator(lambda: SMA(period, line), f"sma{period}", source, raw, name, pane, (color,), enabled, options)


def bollinger(period: int = 20, k: float = 2.0, *, source: str | None = None, raw: bool = False,
              name: str | None = None, pane: str = "main",
              colors: tuple[str | None, str | None, str | None] = (None, None, None),
              enabled: bool = True, nautilus: int | None = None, **options: Any) -> Callable[[F], F]:
    """Chart Nautilus's ``BollingerBands(period, k)`` of what the function returns, as
    ``<name>.bollinger<period>.upper``, ``.middle`` and ``.lower`` (SMA +/- k population standard
    deviations); of a bar, the input the line's ``handle_bar`` takes: the typical price
    (h + l + c) / 3 on 1.x, the close on 2.x. ``nautilus``, ``source`` and ``raw`` as for ``ema``."""
    line = _nautilus_line(nautilus)
    return _indicator(lambda: Bollinger(period, k, line), f"bollinger{period}",
                      source or ("typical" if line == 1 else "close"), raw, name, pane, colors, enabled, options)


def rsi(period: int = 14, *, wilder: bool = False, source: str = "close", raw: bool = False,
        name: str | None = None, pane: str = "rsi", color: str | None = None, enabled: bool = True,
        nautilus: int | None = None, **options: Any) -> Callable[[F], F]:
    """Chart Nautilus's ``RelativeStrengthIndex(period)`` of what the function returns, as
    ``<name>.rsi<period>``, in its own pane by default: 1.x's (EMA-smoothed, 0 to 1) or 2.x's
    (Wilder-smoothed, 0 to 100); ``wilder=True``: Wilder's RSI, 0 to 100, as TA-Lib and
    TradingView compute it, whatever the line. ``nautilus``, ``source`` and ``raw`` as for ``ema``."""
    line = _nautilus_line(nautilus)
    make = (lambda: WilderRSI(period)) if wilder else (lambda: RSI(period, line))
    return _indicator(make, f"rsi{period}", source, raw, name, pane, (color,), enabled, options)


def _signal(result: Any, args: tuple[Any, ...]) -> tuple[str | None, Any, str | None]:
    """(side, price, text) from "buy"/"sell"/an enum, or (side, price[, text])."""
    if isinstance(result, tuple):
        side, price, text = (result + (None, None))[:3]
    else:
        side, price, text = result, None, None
    if price is None:  # the price of the bar the signal was computed on, when there is one
        price = next((a.close for a in args if getattr(a, "close", None) is not None), None)
    return side_of(side), price, text


@overload
def signals(func: F, /) -> F: ...
@overload
def signals(*, name: str | None = None, target: str | None = None, enabled: bool = True) -> Callable[[F], F]: ...


def signals(func: F | None = None, /, *, name: str | None = None, target: str | None = None,
            enabled: bool = True) -> Any:
    """Chart entry/exit markers from a function returning "buy", "sell" or None.

    The function may also return ``(side, price)`` or ``(side, price, text)``; without a price
    the marker takes the ``close`` of the first argument that has one (a bar), else it has no
    price and sits above/below the bar. Markers are drawn on series ``target``.

    >>> @cb.signals(target="EMACross.on_bar")
    ... def cross(self, bar) -> str | None:
    ...     return "buy" if self.fast.value > self.slow.value else None
    """
    def build(f: Any, source: Source) -> Make:
        base = _base_id(f, name)
        conditions.scope(f, base)  # the conditions it checked (cb.condition) are listed with its signals

        def make(key: str) -> tuple[Hook, Bind | None]:
            s = Series(base + key, kind="marker", target=target, source=source)

            def hook(result: Any, args: tuple[Any, ...]) -> None:
                if result is None:
                    return
                try:
                    side, price, text = _signal(result, args)
                except ProtocolError as exc:
                    s.reject(exc)
                    return
                price = None if price is None or math.isnan(float(price)) else price
                s.record((price, {"side": side, "text": text if text is not None else side or ""}),
                         clock.point_time(args))
            return hook, s.sink
        return make
    return _decorator(func, enabled, build, caller_source())
