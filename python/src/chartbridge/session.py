"""Configuration and the live state of the SDK in this process (settings, producer, runs).

``ENABLED`` is a module attribute on purpose: every decorated call reads it, and one
attribute load is the whole cost of a disabled decorator.
"""

from __future__ import annotations

import atexit
import os
import threading
from array import array
from dataclasses import dataclass, field, replace
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .protocol import check_prefix, check_run_id
from .producer import TLS_SETTINGS, Producer, connect, drain

if TYPE_CHECKING:
    from .runs import Run
    from .series import Series

DEFAULT_URL = "redis://127.0.0.1:6379/0"
_OFF_WORDS = frozenset({"off", "0", "false", "no", "disabled"})


def _env_enabled() -> bool:
    return os.environ.get("CHARTBRIDGE", "").strip().lower() not in _OFF_WORDS


# Read by every decorated call; also checked once at decoration time so that with
# CHARTBRIDGE=off a decorator returns the function itself.
ENABLED: bool = _env_enabled()
# Counts changes of the session, of ``ENABLED`` and of a session's current run: the compiled fast
# path (``fastline``) keeps both and looks again only when this moved. An array, so that it reads
# a C integer: two module and object lookups a call were a sixth of an indicator decorator's cost.
EPOCH = array("q", [0])


@dataclass(frozen=True)
class Settings:
    """What ``configure`` sets; defaults come from the environment."""

    url: str = field(default_factory=lambda: os.environ.get("CHARTBRIDGE_REDIS_URL") or DEFAULT_URL)
    redis_ca: str | None = field(default_factory=lambda: os.environ.get(TLS_SETTINGS["redis_ca"]) or None)
    redis_cert: str | None = field(default_factory=lambda: os.environ.get(TLS_SETTINGS["redis_cert"]) or None)
    redis_key: str | None = field(default_factory=lambda: os.environ.get(TLS_SETTINGS["redis_key"]) or None)
    prefix: str = "chartbridge"
    run: str | None = None
    strategy: str | None = None
    params: Mapping[str, Any] | None = None
    enabled: bool = field(default_factory=_env_enabled)
    flush_interval: float = 0.005
    backlog: int = 1_000_000
    exit_timeout: float = 5.0

    def tls(self) -> dict[str, str | None]:
        return {"redis_ca": self.redis_ca, "redis_cert": self.redis_cert, "redis_key": self.redis_key}


class Session:
    """The settings, the producer and the runs of one configuration."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self._run: Run | None = None
        self.stack: list[Run] = []  # runs opened with ``cb.run`` (innermost last)
        self.named: dict[str, Series] = {}  # series created by name (publish_points, cb.marker)
        self.rejected = 0
        self.settlers: list[Callable[[], None]] = []  # runs to finish after their engine returned (``settle``)
        self._producer: Producer | None = None

    @property
    def run(self) -> Run | None:
        """The run points go to; None until the first point."""
        return self._run

    @run.setter
    def run(self, run: Run | None) -> None:
        drain()  # the points decorated calls deferred belong to the run they were made in
        self._run = run
        EPOCH[0] += 1

    @property
    def producer(self) -> Producer:
        with self.lock:
            if self._producer is None:
                s = self.settings
                self._producer = Producer(s.url, flush_interval=s.flush_interval, max_backlog=s.backlog,
                                          tls=s.tls())
            return self._producer

    def count_rejected(self) -> None:
        with self.lock:
            self.rejected += 1

    def current_run(self) -> Run:
        """The run new points go to: the innermost ``cb.run``, else the per-process default."""
        run = self.run
        if run is None:
            from .runs import default_run  # runs imports this module

            with self.lock:
                run = self.run = self.run or default_run(self)
        return run

    def settle(self) -> None:
        """Finish the runs an integration left open past its engine's last callback (Nautilus 2's
        actor: the fills of the orders its strategies send when they stop), each once: at
        ``flush``, at ``close`` and when the integration starts its next run."""
        while self.settlers:
            with self.lock:
                settler = self.settlers.pop(0) if self.settlers else None
            if settler is not None:
                settler()

    def close(self, timeout: float) -> bool:
        """End the default run, deliver what is pending within ``timeout`` s, stop the producer."""
        from .runs import end_run

        self.settle()
        with self.lock:
            if self.run is not None and not self.stack and self.run.status == "running":
                end_run()
            producer, self._producer = self._producer, None
        return producer.close(timeout) if producer is not None else True


_session = Session(Settings())


def current() -> Session:
    """The live session."""
    return _session


def configure(**changes: Any) -> None:
    """Configure Chartbridge; every argument is optional and keeps its current value if left out.

    ``url`` (Redis URL; default env ``CHARTBRIDGE_REDIS_URL``, then ``redis://127.0.0.1:6379/0``;
    ``redis://user:password@host`` for an ACL user, ``rediss://`` for TLS), ``redis_ca``,
    ``redis_cert``, ``redis_key`` (PEM files for TLS: the CA that signed Redis's certificate, a
    client certificate and its key; default env ``CHARTBRIDGE_REDIS_CA``/``_CERT``/``_KEY``),
    ``prefix`` (key prefix, default ``chartbridge``), ``run`` (the run id; default a generated
    per-process id), ``strategy`` (name shown for the run), ``params`` (the strategy's parameters,
    a JSON object recorded in each run's identity and compared between runs), ``enabled`` (False turns every
    decorator into a no-op; default off when env ``CHARTBRIDGE=off``), ``flush_interval`` (s
    between background flushes), ``backlog`` (points kept while Redis is unreachable),
    ``exit_timeout`` (s spent delivering at interpreter exit).

    Pending points of the previous configuration are delivered (or given up after
    ``exit_timeout``) and its default run is ended first.
    """
    global _session, ENABLED
    settings = replace(_session.settings, **changes)
    check_prefix(settings.prefix)
    connect(settings.url, **settings.tls()).close()  # a ValueError for unusable TLS settings, before anything changes
    if settings.run is not None:
        check_run_id(settings.run)
    if settings.params is not None:
        from .runs import MAX_IDENTITY_JSON, dumps  # runs imports this module

        dumps(dict(settings.params), "params", MAX_IDENTITY_JSON)
    _session.close(_session.settings.exit_timeout)
    _session = Session(settings)
    ENABLED = settings.enabled
    EPOCH[0] += 1


def flush(timeout: float = 5.0) -> bool:
    """Deliver every point recorded so far; True when Redis has all of it within ``timeout`` s."""
    _session.settle()
    producer = _session._producer
    return producer.flush(timeout) if producer is not None else True


def stats() -> dict[str, Any]:
    """Counters of the producer: delivered entries, backlog, dropped and rejected points."""
    drain()  # a deferred point the drain refuses is counted then
    producer = _session._producer
    base = producer.stats() if producer is not None else {
        "entries": 0, "backlog": 0, "dropped": 0, "lost": {}, "connected": False}
    return {**base, "rejected": _session.rejected}


@atexit.register
def _at_exit() -> None:
    _session.close(_session.settings.exit_timeout)
