"""Runs: the manifest, the series registry, run events, results and the run lifecycle."""

from __future__ import annotations

import json
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from . import session as _session
from .identity import GitProbe, dirty_diff, new_identity, versions
from .producer import Client, Op, PointBuffer, command, lazy, xadd
from .protocol import MAX_PUBLISH_JSON, Keys, ProtocolError, check_run_id

if TYPE_CHECKING:
    from .series import Series

RUNLOG_MAXLEN = 10_000
MAX_IDENTITY_JSON = 65_536  # bytes: as much as a series' registry entry may hold


def dumps(value: Any, what: str, limit: int | None = None) -> str:
    """Compact UTF-8 JSON; refuses NaN/Infinity (not JSON) and values over ``limit`` bytes."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ProtocolError("E_VALUE", f"{what} is not JSON-serialisable: {exc}") from exc
    if limit is not None and len(text.encode()) > limit:
        raise ProtocolError("E_LIMIT", f"{what} is {len(text.encode())} bytes of JSON, over {limit}")
    return text


class Run:
    """One run: its keys, manifest state and the buffers of its series."""

    def __init__(self, sess: _session.Session, run_id: str, strategy: str, source: str,
                 params: Mapping[str, Any] | None = None) -> None:
        self.session = sess
        self.keys = Keys(sess.settings.prefix, check_run_id(run_id))
        self.id = run_id
        self.strategy = strategy
        self.source = source
        self.started = time.time_ns()
        self.status = "running"
        self.ended: int | None = None
        self._git = GitProbe(source)  # read by the producer when it sends the manifest
        # Here, not on the producer's thread: the first lookup scans the installed packages, and
        # there each file read waits for the GIL of a busy strategy (a backtest charted without
        # the actor: the first cycle's collect took 1.0 s, 0.045 s with this). Once per process.
        self._versions = versions()
        self.identity = new_identity(dict(params or {}))
        dumps(self.identity, "run identity", MAX_IDENTITY_JSON)
        self.buffers: dict[str, PointBuffer] = {}
        self.registry: dict[str, str] = {}  # series id -> registry JSON
        self.plugins: dict[str, str] = {}  # plugin name -> {"enabled", "params"} JSON
        self._lock = threading.Lock()
        self._announced = False  # the start commands are queued
        self._delivered = False  # ... and Redis acknowledged them
        producer = sess.producer
        producer.on_heartbeat(self._heartbeat)
        producer.on_recovery(self._recovery)

    # -- commands -------------------------------------------------------------------------------

    def _manifest(self) -> dict[str, str]:
        fields = {"v": "1", "run": self.id, "strategy": self.strategy, "source": self.source,
                  "language": "python", "started": str(self.started), "heartbeat": str(time.time_ns()),
                  "status": self.status, "identity": self._identity_text()}
        if self.ended is not None:
            fields["ended"] = str(self.ended)
        return fields

    def _event(self, type_: str, data: Any, *, droppable: bool = False) -> Op:
        return xadd(self.keys.events, {"type": type_, "data": dumps(data, f"{type_} event")},
                    points=1 if droppable else 0, droppable=droppable)

    def _identity_text(self) -> str:
        """The identity with its git state and versions (waits for git: called on the producer's side)."""
        return dumps({**self.identity, "git": self._git.result()[0], "versions": self._versions}, "run identity")

    def _dirty(self) -> list[Any] | None:
        diff = dirty_diff(self._git.result()[1])
        return None if diff is None else ["SET", self.keys.dirty, diff]

    def _start_ops(self) -> list[Op]:
        return [lazy(lambda: ["HSET", self.keys.manifest, *(x for kv in self._manifest().items() for x in kv)],
                     on_sent=self._mark_delivered),
                command("ZADD", self.keys.runs, self.started // 1_000_000, self.id),
                xadd(self.keys.runlog, {"run": self.id, "type": "start"}, maxlen=RUNLOG_MAXLEN),
                lazy(self._dirty)]

    def _series_ops(self, series_id: str) -> list[Op]:
        return [command("HSET", self.keys.series, series_id, self.registry[series_id]),
                self._event("series", {"id": series_id})]

    def _plugin_ops(self, name: str) -> list[Op]:
        value = self.plugins[name]
        return [command("HSET", self.keys.plugins, name, value),
                self._event("plugin", {"name": name, **json.loads(value)})]

    def _announce(self) -> list[Op]:
        """The start commands if they were not queued yet (the caller holds ``_lock``)."""
        if self._announced:
            return []
        self._announced = True
        return self._start_ops()

    def _mark_delivered(self) -> None:
        self._delivered = True

    def _heartbeat(self) -> Op | None:
        if not self._delivered or self.status != "running":
            return None
        return command("HSET", self.keys.manifest, "heartbeat", str(time.time_ns()))

    def _recovery(self, client: Client) -> list[Op]:
        """After an outage: if Redis lost this run (restarted without persistence), write it again."""
        if not self._delivered or client.exists(self.keys.manifest):
            return []
        with self._lock:
            ops = self._start_ops()
            for series_id in self.registry:
                ops += self._series_ops(series_id)
            for name in self.plugins:
                ops += self._plugin_ops(name)
        return ops

    def send(self, make: Callable[[], list[Op]], *, after_points: bool = False) -> None:
        """Queue the run's start (first time) and the ops ``make()`` builds, under the run lock."""
        with self._lock:
            ops = self._announce() + make()
        self.session.producer.enqueue(ops, after_points=after_points)

    # -- API used by series and the public functions --------------------------------------------

    def buffer_for(self, series: Series) -> PointBuffer:
        """The buffer of ``series`` in this run, registering the series on first use."""
        buffer = self.buffers.get(series.id)
        if buffer is None:
            with self._lock:
                buffer = self.buffers.get(series.id)
                if buffer is None:
                    buffer = PointBuffer(self.keys.stream(series.id), series.kind)
                    self.registry[series.id] = series.registry_json()
                    ops = self._announce() + self._series_ops(series.id)
                    self.session.producer.register(buffer, ops)
                    self.buffers[series.id] = buffer
                    for name, params in series.plugins.items():
                        self.plugins[name] = dumps({"enabled": True, "params": params}, f"plugin {name}")
                        self.session.producer.enqueue(self._plugin_ops(name))
        if buffer.kind != series.kind:
            raise ProtocolError("E_KIND_MISMATCH", f"series {series.id!r} is a {buffer.kind} series in run "
                                                   f"{self.id!r}, not {series.kind}")
        return buffer

    def set_plugin(self, name: str, enabled: bool, params: Mapping[str, Any]) -> None:
        value = dumps({"enabled": enabled, "params": dict(params)}, f"plugin {name}")

        def make() -> list[Op]:
            self.plugins[name] = value
            return self._plugin_ops(name)
        self.send(make)

    def set_identity(self, **changes: Any) -> None:
        """Change parts of the run's identity (``params``, ``data``): the manifest follows.

        Raises ``ProtocolError`` for a value that is not JSON or an identity over 64 KiB.
        """
        identity = {**self.identity, **changes}
        dumps(identity, "run identity", MAX_IDENTITY_JSON)
        with self._lock:
            self.identity = identity
            announced = self._announced
        if announced:
            self.session.producer.enqueue([lazy(lambda: ["HSET", self.keys.manifest, "identity",
                                                         self._identity_text()])])

    def end(self) -> None:
        if self.status == "ended":
            return
        self.status = "ended"
        self.ended = time.time_ns()
        self.send(lambda: [command("HSET", self.keys.manifest, "status", "ended", "ended", str(self.ended)),
                           self._event("end", {}),
                           xadd(self.keys.runlog, {"run": self.id, "type": "end"}, maxlen=RUNLOG_MAXLEN)],
                  after_points=True)


# ---------------------------------------------------------------------------------------------
# Default run and the public functions


def _script() -> tuple[str, str]:
    """(name, absolute path) of the script that started the process, or ("python", "")."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or ""
    if not path:
        return "python", ""
    name = os.path.splitext(os.path.basename(path))[0]
    return name, os.path.abspath(path)


STRATEGY_HINT: list[str] = []  # the class of the first charted method names the default run


def _new_run(sess: _session.Session, run_id: str | None, strategy: str | None,
             params: Mapping[str, Any] | None = None) -> Run:
    """A run named ``run_id``, else ``<strategy>-<UTC start>-<pid>``; its parameters are
    ``params``, else those of ``cb.configure(params=...)``."""
    script, source = _script()
    strategy = strategy or sess.settings.strategy or (STRATEGY_HINT[0] if STRATEGY_HINT else script)
    if run_id is None:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        run_id = f"{re.sub(r'[^A-Za-z0-9_.-]', '_', strategy)}-{stamp}-{os.getpid()}".lstrip("._-")
    return Run(sess, run_id, strategy, source, sess.settings.params if params is None else params)


def default_run(sess: _session.Session) -> Run:
    """The per-process run: the configured id, else a generated one."""
    return _new_run(sess, sess.settings.run, None)


@contextmanager
def run(name: str | None = None, *, strategy: str | None = None,
        params: Mapping[str, Any] | None = None) -> Iterator[Run]:
    """Open a run for the block: points recorded inside go to it, and it ends when the block exits.
    ``params`` (a JSON object) are the strategy's parameters this run used, compared between runs.

    >>> with cb.run("ema-sweep-20", params={"fast": 20}):
    ...     engine.run()
    """
    sess = _session.current()
    with sess.lock:
        new = _new_run(sess, name, strategy, params)
        sess.stack.append(new)
        outer, sess.run = sess.run, new
    try:
        yield new
    finally:
        with sess.lock:
            new.end()
            sess.stack.remove(new)
            sess.run = sess.stack[-1] if sess.stack else outer


def start_run(name: str | None = None, *, strategy: str | None = None) -> Run:
    """Start a new default run, ending the previous one, and return it; inside a ``cb.run``
    block, return that block's run instead. Integrations call it once per backtest (the
    Nautilus actor), so two backtests in one process chart into two runs.
    """
    sess = _session.current()
    with sess.lock:
        if sess.stack:
            return sess.stack[-1]
        if sess.run is not None:
            sess.run.end()
        sess.run = _new_run(sess, name, strategy)
        return sess.run


def current_run() -> Run:
    """The run points go to now (starting the default run if none is open)."""
    return _session.current().current_run()


def end_run() -> None:
    """End the current run: status ``ended``, an ``end`` event and a runlog entry.

    Points recorded after it start a new default run (with the same id if one was configured).
    """
    sess = _session.current()
    with sess.lock:
        if sess.run is None:
            return
        sess.run.end()
        if not sess.stack:
            sess.run = None


def publish(topic: str, payload: Any) -> None:
    """Send ``payload`` (any JSON value, at most 1 MiB) on ``topic`` to the run's plugins.

    Raises ``ProtocolError`` for a payload that is not JSON or is too large.
    """
    if not isinstance(topic, str) or not 0 < len(topic) <= 200:
        raise ProtocolError("E_NAME", f"topic {topic!r} must be a string of 1 to 200 characters")
    data = {"topic": topic, "payload": payload}
    dumps(data, f"payload of topic {topic!r}", MAX_PUBLISH_JSON)
    if not _session.ENABLED:
        return
    r = current_run()
    r.send(lambda: [r._event("publish", data, droppable=True)])


def _jsonable_stat(value: Any, where: str) -> float | int | str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise ProtocolError("E_VALUE", f"{where}: {value!r} is not a number or a string")
    if isinstance(value, int):
        return value
    number = float(value)
    # JSON has no NaN/Infinity; Nautilus reports e.g. a Sharpe ratio without trades as NaN.
    return number if math.isfinite(number) else str(number)


def _trade(row: Mapping[str, Any], i: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        kind = type(value)
        if key in ("entry_t", "exit_t"):
            if not (kind is int and value >= 0) and (
                    isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit()):
                raise ProtocolError("E_TIME", f"trades[{i}].{key}: {value!r} is not an integer ns time")
            out[key] = str(value)
        elif value is None or isinstance(value, str) or kind is int or kind is float and math.isfinite(value):
            out[key] = value  # the usual columns, told apart without a call: a run can have thousands of trades
        else:
            out[key] = _jsonable_stat(value, f"trades[{i}].{key}")
    return out


def results(stats: Mapping[str, Any], trades: Sequence[Mapping[str, Any]] | None = None) -> None:
    """Publish end-of-run statistics (name -> number or string) and optionally a table of trades.

    A trade is a mapping with ``entry_t``/``exit_t`` (int ns), ``side``, ``entry_price``,
    ``exit_price``, ``pnl`` and any further columns. Non-finite numbers become strings
    ("nan", "inf"), since JSON cannot hold them.
    """
    body = {"stats": {str(k): _jsonable_stat(v, f"stats[{k!r}]") for k, v in stats.items()},
            "trades": [_trade(row, i) for i, row in enumerate(trades or ())]}
    text = dumps(body, "results")
    if not _session.ENABLED:
        return
    r = current_run()
    r.send(lambda: [command("SET", r.keys.results, text), r._event("results", {})])
