"""The background producer: per-series point buffers, an ordered backlog, one flush thread.

The strategy's threads only append to in-memory buffers; a daemon thread swaps them out every
``flush_interval`` seconds and writes everything with pipelined commands. While Redis is away
the encoded entries wait in a backlog bounded in points (the oldest point batches are dropped
and counted beyond it) and are resent on reconnect.

Every XADD carries an ID chosen here, increasing per stream. A resent entry that Redis already
holds (the connection died after Redis executed it but before the reply came back) is then
refused by Redis as "equal or smaller than the top item" and counted as delivered, so a resend
never duplicates an entry.

Redis may refuse us as much as be away: a wrong password, an ACL user without the rights we use
(NOPERM), a TLS certificate not trusted. Each is one clear warning and the same backlog, so fixing
the user (``ACL SETUSER``) or the URL delivers everything (protocol/SPEC.md, "Connecting to Redis").
"""

from __future__ import annotations

import logging
import os
import re
import ssl
import sys
from urllib.parse import unquote
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from time import time_ns
from typing import Any

# The flush thread's first connect resolves the host, and socket.getaddrinfo encodes it with the
# idna codec, importing encodings.idna and stringprep then. Imported there, under a strategy that
# holds the GIL, each of the import's file reads gave the GIL up and waited its turn again: 1.2 s
# of that connect's 1.33 s (measured in the decorators_only shape of the overhead matrix).
# Imported here, on the importing thread, it costs ~2 ms once.
import encodings.idna  # noqa: F401
import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

from .arrays import clear
from .protocol import Batch, ProtocolError, columns_for, point_entries

log = logging.getLogger("chartbridge")

_CHUNK_OPS = 1000  # commands per pipeline round trip
_HEARTBEAT_S = 2.0  # SPEC: at least every 5 s
# A replay's flush thread looks this often (doubling up to _HEARTBEAT_S while the writer holds
# the GIL) whether the writer paused, and delivers what waits then.
_REPLAY_LOOK_S = 0.25
# A replay (a backtest charted without an integration pacing it, see ``Producer.full``): the
# newest waiting point is older than this, and a series hands over every HAND_OVER_POINTS points.
REPLAY_AGE_NS = 3_600_000_000_000
HAND_OVER_POINTS = 5_000
_RETRY_MAX_S = 0.5
_STALE_ID = "equal or smaller than the target stream top item"
# Acknowledged entries remembered per stream, so that after an outage a tail Redis acknowledged and
# then lost (a failover to a replica they had not reached yet) is found and reported. Replication
# lags by milliseconds: the newest 1024 entries are far more than a failover can lose.
_ACKED_KEPT = 1024
# AuthenticationError is a ConnectionError; NoPermissionError (NOPERM) is a reply, also per command.
class RedisFull(redis.ResponseError):
    """Redis refused writes with ``OOM``: it reached ``maxmemory`` under ``noeviction``."""


# During a backtest (a paced producer, or a replay) the decorators' fast path defers its writes: a
# call keeps its result and time, and ``fastline`` writes them into the buffers in one loop, whose
# code and data are warm, where written at each call they were cold at every bar (0.4-0.7% of the
# overhead matrix's ``short`` run, python/README.md "Cost"). DEFERRING[0] is 1 then (read in C by
# the fast path); ``drain`` writes what waits: before a cycle takes the buffers, before any other
# write to a buffer and before the run changes, so every series keeps its points in call order.
DEFERRING = array("q", [0])
_drains: dict[str, Callable[[], None]] = {}


def on_drain(module: str, drain_points: Callable[[], None]) -> None:
    """``drain_points`` writes the points ``module``'s fast path deferred (``fastline`` registers
    it; a module loaded again replaces its own)."""
    _drains[module] = drain_points


def drain() -> None:
    """Write every deferred point into its buffer."""
    for drain_points in _drains.values():
        drain_points()


_UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, OSError, redis.exceptions.NoPermissionError,
                redis.exceptions.ClusterError, RedisFull)
# A cluster's answers while a slot has no master (a failover under way) or moves: not executed, so
# kept and sent again once the cluster serves the slot.
_NOT_SERVED = (redis.exceptions.ClusterError, redis.exceptions.TryAgainError, redis.ConnectionError, redis.TimeoutError)
_CLUSTER_URL = re.compile(r"(rediss?)\+cluster://", re.IGNORECASE)

Client = redis.Redis | RedisCluster
"""One Redis, or a Redis Cluster (``redis+cluster://``) that routes each command to its key's node."""


def cluster_nodes(url: str) -> tuple[list[ClusterNode], str | None, str | None] | None:
    """The seed nodes, user and password of ``redis[s]+cluster://[user:password@]host:port,host:port[/0]``
    (protocol/SPEC.md section 9), or None for a one-Redis URL; a ValueError says what is wrong."""
    scheme = _CLUSTER_URL.match(url)
    if scheme is None:
        return None
    rest = url[scheme.end():]
    end = re.search(r"[/?#]", rest)
    authority, path = (rest[:end.start()], rest[end.start():]) if end else (rest, "")
    if path not in ("", "/", "/0"):
        raise ValueError(f"{redact(url)}: a Redis Cluster has database 0 only; remove {path!r}")
    userinfo, _, hosts = authority.rpartition("@")
    nodes = []
    for node in hosts.split(","):
        m = re.fullmatch(r"(\[[^\]]+\]|[^:\[\]]+)(?::([0-9]{1,5}))?", node)
        port = int(m.group(2)) if m and m.group(2) else 6379
        if m is None or not 1 <= port <= 65535:
            raise ValueError(f"{redact(url)}: {node!r} is not a cluster node (host:port, nodes separated by commas)")
        nodes.append(ClusterNode(m.group(1).strip("[]"), port))  # type: ignore[no-untyped-call]
    user, colon, password = userinfo.partition(":")
    return nodes, unquote(user) or None, unquote(password) if colon and password else None


# What each TLS file is called in configure() and in the environment (the server's flags match).
TLS_SETTINGS = {"redis_ca": "CHARTBRIDGE_REDIS_CA", "redis_cert": "CHARTBRIDGE_REDIS_CERT",
                "redis_key": "CHARTBRIDGE_REDIS_KEY"}


def redact(url: str) -> str:
    """The URL with its user name and password (and a ``password=`` parameter) replaced by ``***``;
    a malformed one loses everything up to its last ``@`` (protocol/vectors/redis-urls.json)."""
    scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", url)
    if scheme is None:
        out = "***" + url[url.rindex("@"):] if "@" in url else url
    else:
        rest = url[scheme.end():]
        authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
        out = scheme.group() + "***" + rest[authority.rindex("@"):] if "@" in authority else url
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", out, flags=re.IGNORECASE)


def _driver() -> dict[str, Any]:
    """redis-py's version given, not looked up: by default its first connection reads it from the
    installed packages' metadata (imports and file reads: 9.3 ms of the first pipeline, 2.9 ms
    without), on the flush thread, where each file read must win the GIL back from the strategy."""
    try:
        from redis.driver_info import DriverInfo  # redis-py 7.1+
    except ImportError:
        return {"lib_version": redis.__version__}
    return {"driver_info": DriverInfo(lib_version=redis.__version__)}


_DRIVER = _driver()


def connect(url: str, redis_ca: str | None = None, redis_cert: str | None = None,
            redis_key: str | None = None) -> Client:
    """A client for ``url`` (``rediss://`` for TLS, ``user:password@`` for an ACL user,
    ``redis+cluster://host:port,host:port`` for a Redis Cluster) with PEM CA/client certificate
    files; a ValueError says what is wrong with them. It does not connect."""
    files = {"redis_ca": redis_ca, "redis_cert": redis_cert, "redis_key": redis_key}
    given = [name for name, path in files.items() if path]
    cluster = cluster_nodes(url)
    tls = url.lower().startswith(("rediss://", "rediss+cluster://"))
    if given and not tls:
        raise ValueError(f"{', '.join(given)} given, but the Redis URL {redact(url)} is not TLS: use rediss://")
    if bool(redis_cert) != bool(redis_key):
        raise ValueError(f"a client certificate needs both redis_cert and redis_key; only {given[-1]} is given")
    for name in given:
        if not os.access(files[name] or "", os.R_OK):
            raise ValueError(f"cannot read the Redis TLS file {files[name]!r} ({name} / {TLS_SETTINGS[name]})")
    tls_args: dict[str, Any] = {"ssl_ca_certs": redis_ca, "ssl_certfile": redis_cert,
                                "ssl_keyfile": redis_key} if tls else {}
    # No retries inside redis-py: a hidden retry would stall the flush thread; the backlog
    # retries on its own schedule.
    tls_args.update(_DRIVER)
    if cluster is not None:
        nodes, user, password = cluster
        # Without the cluster's own retries a failover is an outage like any other (section 11); it
        # still follows MOVED and ASK, and finds a new master once its old one stops answering.
        return RedisCluster(startup_nodes=nodes, username=user, password=password, ssl=tls,
                            socket_connect_timeout=1.0, socket_timeout=10.0, retry=Retry(NoBackoff(), 0),
                            **tls_args)
    return redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=10.0,
                                retry=Retry(NoBackoff(), 0), **tls_args)


def describe_fault(exc: BaseException, url: str) -> tuple[str, str]:
    """What a failed Redis call means for the user and what to do, with its kind (``authFailed``,
    ``noPermission``, ``tlsFailed``, ``unreachable``: the server's names for the same faults)."""
    shown = redact(url)
    if isinstance(exc, RedisFull):
        return "redisFull", (f"Redis at {shown} is full and refuses writes: {exc} (free memory: delete old runs "
                             "with `chartbridge gc`, or raise maxmemory)")
    if isinstance(exc, redis.AuthenticationError):
        return "authFailed", (f"Redis at {shown} refused the user name or password: {exc} "
                              "(check user:password in the Redis URL)")
    if isinstance(exc, redis.exceptions.NoPermissionError):
        return "noPermission", (f"the Redis user at {shown} lacks a permission the producer needs: NOPERM {exc} "
                                "(grant it the commands and keys listed in protocol/SPEC.md, \"Connecting to Redis\")")
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__context__
    if cause is not None:
        return "tlsFailed", (f"TLS with Redis at {shown} failed: {cause} (check the CA file: configure(redis_ca=...) "
                             "or CHARTBRIDGE_REDIS_CA, the client certificate and key, and that the port serves TLS)")
    return "unreachable", f"Redis at {shown} is unreachable ({exc})"


def _stream_id(raw: bytes | str) -> tuple[int, int]:
    """A stream ID (``ms-seq``) as a pair that orders as Redis orders IDs."""
    ms, _, seq = (raw.decode() if isinstance(raw, bytes) else raw).partition("-")
    return int(ms), int(seq)


@dataclass(slots=True, eq=False)
class Op:
    """One Redis command waiting in the backlog."""

    args: list[Any]
    id_at: int = -1  # index of the XADD id in ``args``; -1 for other commands
    points: int = 0  # what the op weighs against the backlog bound
    droppable: bool = False  # point batches and publish events may be dropped in an outage
    attempted: bool = False  # sent once with an unknown outcome
    on_sent: Callable[[], None] | None = None
    # Builds ``args`` on the flush side, when the op enters the backlog (a run's manifest waits for
    # its git state there, not in the strategy); None from it: nothing to send.
    prepare: Callable[[], list[Any] | None] | None = None

    def ready(self) -> bool:
        """Build a lazy op's ``args``; False when it has nothing to send."""
        if self.prepare is not None:
            args, self.prepare = self.prepare(), None
            if args is None:
                return False
            self.args = args
        return True


def xadd(key: str, fields: dict[str, Any], *, maxlen: int | None = None, points: int = 0,
         droppable: bool = False, on_sent: Callable[[], None] | None = None) -> Op:
    """An XADD whose id the producer assigns when it first sends it."""
    head: list[Any] = ["XADD", key] + (["MAXLEN", "~", maxlen] if maxlen else [])
    flat = [x for kv in fields.items() for x in kv]
    return Op(head + [None] + flat, id_at=len(head), points=points, droppable=droppable, on_sent=on_sent)


def command(*args: Any, on_sent: Callable[[], None] | None = None) -> Op:
    """Any other command (HSET, ZADD, SET): idempotent, so a resend is harmless."""
    return Op(list(args), on_sent=on_sent)


def lazy(prepare: Callable[[], list[Any] | None], on_sent: Callable[[], None] | None = None) -> Op:
    """A ``command`` whose arguments ``prepare()`` builds when it is about to be sent (None: none)."""
    return Op([], on_sent=on_sent, prepare=prepare)


def _nothing() -> None:
    pass


class PointBuffer:
    """The points of one series in one run that wait for the next flush.

    Values are kept interleaved in one array (``width`` per point) so that appending a point is
    two C-level appends; the flush thread splits them into columns.

    Times never go backwards here: an explicit time earlier than the last one is refused with
    ``E_ORDER``; a wall-clock time is nudged to 1 ns after the last one so that two calls in
    the same nanosecond do not replace each other.
    """

    def __init__(self, key: str, kind: str) -> None:
        self.key = key
        self.kind = kind
        self.names = columns_for(kind)
        self.width = len(self.names)
        self.lock = threading.Lock()
        # The time of the last point, in an array so that the compiled fast path (``fastline.Line``)
        # reads and writes it as a C integer: as an attribute, each point cost two lookups and an int object.
        self.last = array("q", [-1])
        self.used = False  # a candle series' first point decides whether it carries volume
        # Called when a point lands in the empty buffer: wakes an idle producer.
        self.nudge: Callable[[], None] = _nothing
        # Called, outside the lock, at each HAND_OVER_POINTS points the buffer reached: a replay delivers.
        self.full: Callable[[], None] = _nothing
        # Emptied in place by ``take``, never replaced: a hot path may keep their bound appends.
        self.t: array[int] = array("q")
        self.v: array[float] = array("d")
        self.markers: list[dict[str, Any]] | None = [] if self.kind == "marker" else None

    def _shape(self, names: tuple[str, ...]) -> None:
        self.names, self.width = names, len(names)

    def _fit(self, values: Sequence[float]) -> Sequence[float]:
        """Candles with and without volume: the first point decides, later ones are padded or cut."""
        if not self.used:
            self._shape(columns_for(self.kind, len(values) == 5))
            return values
        return (tuple(values) + (0.0,))[:self.width]

    def append(self, t: int | None, values: Sequence[float], marker: dict[str, Any] | None = None) -> int:
        """Append one checked point; ``t`` None means "now". Returns the time used."""
        drain()  # after the points a fast path deferred, in call order
        self.lock.acquire()  # not ``with``: this is the hot path and ``with`` costs twice as much
        try:
            n = len(self.t)
            last = self.last[0]
            if t is None:
                t = time_ns()
                if t <= last:
                    t = last + 1
            elif t < last:
                raise ProtocolError("E_ORDER", f"time {t} is earlier than the last point of {self.key} ({last})")
            if len(values) != self.width or not self.used:
                values = self._fit(values)
                self.used = True
            self.last[0] = t
            if not n:
                self.nudge()
            self.t.append(t)
            self.v.extend(values)
            if marker is not None and self.markers is not None:
                self.markers.append(marker)
        finally:
            self.lock.release()
        if (n + 1) % HAND_OVER_POINTS == 0:
            self.full()
        return t

    def extend(self, batch: Batch) -> None:
        """Append a checked batch of the same kind."""
        names = tuple(batch.columns)
        width = len(names)
        v = array("d", bytes(8 * width * len(batch)))
        for i, name in enumerate(names):  # interleave with strided C copies
            v[i::width] = batch.columns[name]
        self.extend_points(names, batch.t, v)
        if self.markers is not None and batch.markers is not None:
            self.markers.extend(batch.markers)

    def extend_points(self, names: tuple[str, ...], t: array[int], v: array[float]) -> None:
        """Append checked points held as this buffer holds them: ``len(names)`` values per time."""
        drain()
        with self.lock:
            if t[0] < self.last[0]:
                raise ProtocolError("E_ORDER", f"t[0] = {t[0]} is earlier than the last point of "
                                               f"{self.key} ({self.last[0]})")
            if not self.used:
                self._shape(names)
            elif names != self.names:
                raise ProtocolError("E_FIELD", f"{self.key} has columns {list(self.names)}, not {list(names)}")
            self.used = True
            self.last[0] = t[-1]
            n = len(self.t)
            if not n:
                self.nudge()
            self.v.extend(v)
            self.t.extend(t)
        if n // HAND_OVER_POINTS != (n + len(t)) // HAND_OVER_POINTS:
            self.full()

    def take(self) -> list[dict[str, bytes]]:
        """Take out the waiting points as stream entries' fields (a memory copy of each column;
        the strategy's threads keep appending)."""
        if not self.t:
            return []
        with self.lock:
            fields = point_entries(self.kind, self.names, self.t, self.v, self.markers)
            clear(self.t)
            clear(self.v)
            if self.markers is not None:
                self.markers.clear()  # in place: the fast path of ``cb.marker`` holds the list
        return fields


class Producer:
    """Writes control commands and point batches to Redis from one background thread."""

    def __init__(self, url: str, *, flush_interval: float = 0.005, max_backlog: int = 1_000_000,
                 tls: dict[str, str | None] | None = None) -> None:
        self.url = url
        self.shown_url = redact(url)  # what logs say: never the password
        self.interval = flush_interval
        self.max_backlog = max_backlog
        self.client = connect(url, **(tls or {}))
        self._lock = threading.RLock()  # guards the three lists below
        self._pre: list[Op] = []  # written before this cycle's point batches
        self._post: list[Op] = []  # written after them (run end)
        self._buffers: list[PointBuffer] = []
        self._backlog: deque[Op] = deque()  # only the flush thread touches it
        self._backlog_points = 0
        self._last_ids: dict[str, tuple[int, int]] = {}
        self._acked: dict[str, deque[tuple[tuple[int, int], int]]] = {}  # per stream: (id, points)
        self._heartbeats: list[Callable[[], Op | None]] = []
        self._recoveries: list[Callable[[Client], list[Op]]] = []
        self._next_heartbeat = 0.0
        self._down = False
        # The current outage's cause, warned about once (again only if it changes).
        self._fault_kind = self._fault = ""
        self._recovered = False  # this outage's recovery commands are queued
        self._resending = 0
        self._retry_at = 0.0
        self._retry_delay = 0.0
        self.entries = 0
        self.dropped = 0
        # Points lost per series stream key, and what the run's ``lost`` record holds of them
        # (SPEC "Outages and loss"): written when Redis takes writes again.
        self.lost: dict[str, int] = {}
        self._lost_recorded: dict[str, int] = {}
        self._cond = threading.Condition()
        self._started = 0  # cycles started
        self._ok = 0  # the last cycle that delivered all it had at its start
        self._force = False
        self._stop = False
        self._wake = threading.Event()
        # Nothing was waiting at the last cycle: sleep until a point or command arrives (or the
        # next heartbeat) instead of waking every interval, which takes the GIL from the strategy
        # (~4% of a backtest at 5 ms) and, for sparse points, makes them wait for the next tick.
        self._idle = False
        # Paced by an engine with a simulated clock (a backtest, see ``pace``): its hand-overs
        # deliver, and the thread only keeps the heartbeat.
        self._paced = False
        self._replaying = False  # paced by the buffers themselves (``full``)
        self._look = _REPLAY_LOOK_S  # a replay: the flush thread's wait between two looks
        self._nudged_at = 0.0  # when ``nudge`` last woke the flush thread
        self._cycling = threading.Lock()  # one cycle at a time: the thread's or a paced ``deliver``
        # A hand-over's last pipeline, sent, its replies read at the next cycle (``_send``): its
        # connection, out of the pool until then, and its ops, still at the front of the backlog.
        self._unread: tuple[Any, list[Op]] | None = None
        self._last_cycle = 0.0
        self._thread: threading.Thread | None = None

    # -- called from any thread -----------------------------------------------------------------

    def register(self, buffer: PointBuffer, ops: Iterable[Op]) -> None:
        """Add a series buffer; ``ops`` (its registry entry) are written before its first batch."""
        buffer.nudge, buffer.full = self.nudge, self.full
        with self._lock:
            self._pre.extend(ops)
            self._buffers.append(buffer)
        self._ensure_thread()
        self.nudge()

    def enqueue(self, ops: Iterable[Op], *, after_points: bool = False) -> None:
        """Queue control commands, before (default) or after this cycle's point batches."""
        with self._lock:
            (self._post if after_points else self._pre).extend(ops)
        self._ensure_thread()
        self.nudge()

    def nudge(self) -> None:
        """Something arrived: an idle flush thread starts a cycle now (paced: at the next
        hand-over; a replay: once it finds the writer paused, ``_loop``, and not woken here while
        its looks find the writer at work)."""
        if self._idle and not self._paced and (not self._replaying or self._look == _REPLAY_LOOK_S):
            self._idle = False
            self._nudged_at = time.monotonic()
            self._wake.set()

    def _start_replay(self) -> None:
        """From now on the writer's hand-overs deliver (``full``), the flush thread at its pauses."""
        self._replaying, self._look = True, _REPLAY_LOOK_S
        self._last_cycle = time.monotonic()  # the heartbeat is due a period from now
        self._defer()

    def _newest(self) -> int:
        """The time of the newest point written to any buffer (-1: none)."""
        return max((b.last[0] for b in self._buffers), default=-1)

    def pace(self, paced: bool) -> None:
        """Deliver at the engine's hand-overs (``deliver``), not from the flush thread.

        A backtest's strategy thread holds the GIL without pause: every time the flush thread
        wakes, and again after each of its socket calls, it waits for the strategy to drop the
        GIL (up to ``sys.getswitchinterval()``, then longer on a loaded machine, where the
        strategy must also be scheduled again), and the strategy waits for it in turn. Measured
        on a 20k-bar fill-heavy backtest (python/bench/overhead_shapes.py): 33 to 460 cycles (a
        point after an idle cycle woke the thread at once), 170-210 GIL waits of the strategy's
        thread, wall time 1.4x to 1.7x with CPU time 1.15x to 1.2x. Delivered from the strategy's
        own thread at the hand-overs (every ``backtest_batch`` bars), the same points cost one
        pipelined round trip each: 22-26 cycles (heartbeats), 59-70 waits. The flush thread still
        sends the heartbeat, delivers what waits when no hand-over came for a heartbeat period,
        and retries while Redis is unreachable.
        """
        if not paced:
            drain()  # the points deferred while paced go first: later ones are written at once
        self._paced = paced
        self._defer()
        if not paced:
            self.nudge()

    def full(self) -> None:
        """A buffer holds a multiple of HAND_OVER_POINTS points. When the newest point is older
        than REPLAY_AGE_NS, this is a replay (a backtest charted by decorators alone, with no
        integration to ``pace`` it; ``nudge`` starts one at its first point): the points are
        delivered here, on the writer's thread, as a paced hand-over; the flush thread keeps the
        heartbeat and delivers what waits once it finds the writer paused (``_loop``) or no
        hand-over came for a heartbeat period, or at ``flush``; a cycle whose newest point
        is recent ends the replay. Measured on a 20k-bar backtest charted without the actor
        (python/bench/nautilus_overhead.py, ``decorators_only``): with the flush thread
        delivering, its 2 to 4 cycles each waited 0.8-1.8 s for the GIL between socket calls and
        took 0.2-0.25 s of CPU, and the strategy's thread ran 13-15% longer."""
        if self._paced or self._down:
            return
        if not self._replaying:
            if self._newest() >= time_ns() - REPLAY_AGE_NS:
                return
            self._start_replay()
        # Not waiting for a cycle under way: the writer may hold ``atomic()`` (``publish_points``),
        # which that cycle's collect waits for.
        self._run_cycle(wait=False)

    def _defer(self) -> None:
        """The fast path defers its writes while this producer is paced or replays (``DEFERRING``)."""
        DEFERRING[0] = int(self._paced or self._replaying)

    def deliver(self) -> None:
        """Paced: send what waits now, on the calling thread; while Redis is unreachable, wake the
        flush thread instead, so the strategy waits on an outage once at most (the connect timeout)."""
        if not self._paced or self._down:
            self._wake.set()
            return
        self._run_cycle()

    def on_heartbeat(self, make: Callable[[], Op | None]) -> None:
        """``make`` gives a command to send every couple of seconds while Redis is reachable."""
        with self._lock:
            self._heartbeats.append(make)

    def on_recovery(self, make: Callable[[Client], list[Op]]) -> None:
        """``make`` gives commands to write first after Redis came back (e.g. lost manifests)."""
        with self._lock:
            self._recoveries.append(make)

    def atomic(self) -> threading.RLock:
        """Hold it to make registrations and appends land in the same flush cycle."""
        return self._lock

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything recorded before the call is in Redis; False on timeout."""
        if self._thread is None:
            return True
        with self._cond:
            target = self._started + 1
            self._force = True
            self._wake.set()
            return self._cond.wait_for(lambda: self._ok >= target, timeout)

    def close(self, timeout: float) -> bool:
        """Flush for at most ``timeout`` s, then stop the thread; False if points were left."""
        delivered = self.flush(timeout)
        left = self._backlog_points + sum(len(b.t) for b in self._buffers)
        if left:
            log.warning("chartbridge: %d points not delivered to %s at close (%s)", left, self.shown_url,
                        self._fault or "Redis unreachable")
        self._stop = True
        DEFERRING[0] = 0
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)
        self.client.close()
        return delivered

    def stats(self) -> dict[str, Any]:
        lost = {key.partition("}:s:")[2]: n for key, n in self.lost.items()}
        return {"entries": self.entries, "backlog": self._backlog_points, "dropped": self.dropped,
                "lost": lost, "connected": self._thread is not None and not self._down}

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._cond:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._loop, name="chartbridge-producer", daemon=True)
                    self._thread.start()

    # -- the flush thread -----------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop:
            if self._down:  # retries keep their backoff, not one wake-up per interval
                timeout = max(self.interval, self._retry_at - time.monotonic())
            elif self._replaying:
                timeout = self._look if self._waiting() else _HEARTBEAT_S
            else:
                timeout = _HEARTBEAT_S if self._idle or self._paced else self.interval
            started = time.monotonic()
            woke = self._wake.wait(timeout)
            self._wake.clear()
            # How long this thread waited for the GIL once it was due to run: a switch interval
            # or more means the writer holds it (the interpreter makes it give the GIL up then).
            late = time.monotonic() - (max(self._nudged_at, started) if woke else started + timeout)
            self._idle = False
            if self._force or self._down or self._stop:
                self._run_cycle()
                continue
            if not self._paced and not self._replaying and 0 <= self._newest() < time_ns() - REPLAY_AGE_NS:
                # Points over REPLAY_AGE_NS old: a replay from its first point (``full``). A cycle
                # of this thread's while the writer holds the GIL waits for it at each socket call:
                # measured in the decorators_only shape, a first cycle (connect, register) of
                # 1.0-2.6 s wall and 75-230 ms CPU, the writer's hand-overs skipped meanwhile.
                self._start_replay()
            if self._paced or self._replaying:
                busy = self._replaying and late >= sys.getswitchinterval() / 2
                if busy:
                    self._look = min(2 * self._look, _HEARTBEAT_S)  # each look costs the writer a GIL hand-off
                if time.monotonic() - self._last_cycle < _HEARTBEAT_S and (self._paced or busy or not self._waiting()):
                    continue  # a hand-over delivered lately, or a replay's writer is at work
                if not busy:
                    self._look = _REPLAY_LOOK_S
            self._run_cycle()

    def _waiting(self) -> bool:
        """Whether points or commands wait for a cycle."""
        return bool(self._pre or self._post or any(b.t for b in self._buffers))

    def _run_cycle(self, wait: bool = True) -> None:
        """One cycle; ``wait=False``: none when another thread's cycle is under way."""
        if not self._cycling.acquire(blocking=wait):
            return
        try:
            with self._cond:
                self._started += 1
                cycle, force, self._force = self._started, self._force, False
            try:
                ok = self._cycle(force)
            except Exception:  # a bug here must not kill charting for the rest of the run
                log.exception("chartbridge: producer cycle failed")
                ok = False
            self._last_cycle = time.monotonic()
            if ok:
                with self._cond:
                    self._ok = cycle
                    self._cond.notify_all()
                self._settle_idle()
        finally:
            self._cycling.release()

    def _settle_idle(self) -> None:
        """Idle after a cycle that left nothing behind. ``_idle`` is set before looking, so a
        point appended after the look finds it set and wakes the thread."""
        if self._backlog or self._pre or self._post:
            return
        self._idle = True
        if self._waiting():
            self._idle = False

    def _collect(self) -> None:
        drain()
        with self._lock:
            pre, post, self._pre, self._post = self._pre, self._post, [], []
            newest = max((b.last[0] for b in self._buffers if b.t), default=None)
            taken = [(b.key, b.take()) for b in self._buffers]
        if newest is not None and newest >= time_ns() - REPLAY_AGE_NS and self._replaying:
            self._replaying = False  # points of now: a live run (again)
            self._defer()
        ops = pre
        for key, entries in taken:
            ops.extend(xadd(key, fields, points=int(fields["n"]), droppable=True) for fields in entries)
        ops.extend(post)
        for op in ops:
            if not op.ready():
                continue
            self._backlog.append(op)
            self._backlog_points += op.points
        # The bound is for outages (SPEC section 11): while Redis answers, this cycle sends it all.
        if self._down and self._backlog_points > self.max_backlog:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        kept: deque[Op] = deque()
        for op in self._backlog:
            if op.droppable and self._backlog_points > self.max_backlog:
                self._backlog_points -= op.points
                self._lose(op)
            else:
                kept.append(op)
        self._backlog = kept

    def _lose(self, op: Op) -> None:
        """Count the points of ``op`` as lost, against its series."""
        if op.points:
            self.dropped += op.points
            self.lost[op.args[1]] = self.lost.get(op.args[1], 0) + op.points

    def _record_loss(self) -> None:
        """Write each series' lost total that its run's ``lost`` hash does not hold yet (an HSET
        of a total: a resend is harmless)."""
        changed = {key: n for key, n in self.lost.items() if self._lost_recorded.get(key) != n}
        if not changed:
            return
        pipe = self.client.pipeline(transaction=False)
        for key, n in changed.items():
            run_key, _, series = key.partition("}:s:")
            pipe.hset(f"{run_key}}}:lost", series, n)
        replies = pipe.execute(raise_on_error=False)
        # A full Redis refuses the record too: what it did not take is written again next cycle.
        recorded = {key: n for (key, n), reply in zip(changed.items(), replies) if not isinstance(reply, Exception)}
        if not recorded:
            return
        self._lost_recorded.update(recorded)
        log.warning("chartbridge: points lost so far, per series (written to the run's lost record): %s",
                    ", ".join(f"{key.partition('}:s:')[2]}: {n}" for key, n in self.lost.items()))

    def _cycle(self, force: bool) -> bool:
        self._collect()
        now = time.monotonic()
        if self._down and not force and now < self._retry_at:
            return False
        # A hand-over (paced, or a replay's) leaves its last pipeline's replies to the next cycle, so
        # the strategy goes on while Redis stores the points; any other cycle reads all (a flush:
        # "in Redis"). A cluster's pipeline is split by node: read at once.
        later = ((self._paced or self._replaying) and not force and not self._down
                 and isinstance(self.client, redis.Redis))
        try:
            self._read_unread()
            if self._down:
                self.client.ping()
                if not self._recovered:
                    self._recover()
            if now >= self._next_heartbeat:
                self._next_heartbeat = now + _HEARTBEAT_S
                self._heartbeat()
            while self._backlog:
                chunk = list(islice(self._backlog, _CHUNK_OPS))
                if later and len(chunk) == len(self._backlog):
                    self._send(chunk, wait=False)
                    break
                self._send(chunk)
            self._record_loss()
            if self._down:
                self._back()
        except _UNREACHABLE as exc:
            self._went_down(exc, now)
            return False
        return True

    def _send(self, chunk: list[Op], wait: bool = True) -> None:
        """Send ``chunk`` (the front of the backlog) and act on the replies; ``wait=False``: the
        next cycle reads them (``_read_unread``), the ops left in the backlog until then.
        Measured in the 20k-bar ``short`` shape (python/bench/nautilus_overhead.py): waiting for
        the replies of its six hand-overs took 5-10 ms of the strategy's ~1.7 s, most of it Redis
        storing the entries (XADD ~45 us each)."""
        for op in chunk:
            if op.id_at >= 0 and op.args[op.id_at] is None:
                op.args[op.id_at] = self._next_id(op.args[1])
        if not wait:
            assert isinstance(self.client, redis.Redis)
            connection: Any = self.client.connection_pool.get_connection()
            try:
                connection.send_packed_command(connection.pack_commands([op.args for op in chunk]))
            except BaseException:
                self._attempted(chunk, connection)
                raise
            self._unread = connection, chunk
            return
        pipe = self.client.pipeline(transaction=False)
        for op in chunk:
            pipe.execute_command(*op.args)
        try:
            replies = pipe.execute(raise_on_error=False)
        except _UNREACHABLE:
            self._attempted(chunk)
            raise
        self._took(chunk, replies)

    def _attempted(self, chunk: list[Op], connection: Any = None) -> None:
        """``chunk`` met a fault in flight: each op may have been executed (an XADD resent with its
        id is then refused as stale, never doubled); ``connection`` (one of ``_unread``'s) is
        dropped, its replies out of step."""
        for op in chunk:
            op.attempted = True
        if connection is not None:
            connection.disconnect()
            self._release(connection)

    def _release(self, connection: Any) -> None:
        """Give a connection ``_send`` took for ``_unread`` back to the pool."""
        assert isinstance(self.client, redis.Redis)
        self.client.connection_pool.release(connection)

    def _read_unread(self) -> None:
        """Read and act on the replies of the pipeline the last cycle left unread (``_send``)."""
        if self._unread is None:
            return
        connection, chunk = self._unread
        self._unread = None
        replies: list[Any] = []
        try:
            for _ in chunk:
                try:
                    replies.append(connection.read_response())
                except redis.ResponseError as exc:  # this command's error, as a pipeline gives it
                    replies.append(exc)
        except BaseException:
            self._attempted(chunk, connection)
            raise
        self._release(connection)
        self._took(chunk, replies)

    def _took(self, chunk: list[Op], replies: list[Any]) -> None:
        """Act on the replies to ``chunk``, the front of the backlog: done ops leave it, refused
        ones are counted lost, and what may succeed later goes back to its front, in order."""
        retry: list[Op] = []
        refused: redis.exceptions.NoPermissionError | None = None
        unserved: Exception | None = None
        full: RedisFull | None = None
        behind: dict[str, list[Op]] = {}  # per stream: its entries this chunk's OOM replies refused
        for op, reply in zip(chunk, replies):
            self._backlog.popleft()
            self._backlog_points -= op.points
            if isinstance(reply, redis.exceptions.NoPermissionError):
                # Not executed, and the user's rights may be fixed while we wait: kept, in order.
                refused = refused or reply
                retry.append(op)
                continue
            if isinstance(reply, redis.exceptions.OutOfMemoryError):
                # Redis is full (noeviction): kept, in order, within the backlog bound, and sent
                # once memory is freed; beyond the bound the oldest go and are counted lost.
                full = full or RedisFull(str(reply))
                retry.append(op)
                if op.id_at >= 0:
                    behind.setdefault(op.args[1], []).append(op)
                continue
            if isinstance(reply, _NOT_SERVED):
                # A slot without a master for now (a failover): kept, in order, and sent again
                # (maybe executed: an XADD resent with its id is refused as stale, never doubled).
                op.attempted = True
                unserved = unserved or reply
                retry.append(op)
                continue
            if isinstance(reply, redis.ResponseError):
                if op.id_at >= 0 and _STALE_ID in str(reply):
                    if op.attempted:
                        continue  # Redis got it on the attempt whose reply was lost
                    # The stream is ahead of our ids (another writer, a clock step): let Redis pick.
                    op.args[op.id_at] = "*"
                    retry.append(op)
                    continue
                log.error("chartbridge: Redis refused %s %s: %s", op.args[0], op.args[1], reply)
                self._lose(op)
                continue
            if op.id_at >= 0:
                # A full Redis can take a write between two it refuses (its memory moves as it
                # frees buffers): the refused earlier entries of this stream, sent again, would
                # land after this one, and readers refuse a stream's points out of order. They
                # are lost, and counted so.
                for earlier in behind.pop(op.args[1], ()):
                    retry.remove(earlier)
                    self._lose(earlier)
                seen = self._saw_id(op.args[1], reply)
                self.entries += 1
                if op.points:
                    self._acked.setdefault(op.args[1], deque(maxlen=_ACKED_KEPT)).append((seen, op.points))
            if op.on_sent is not None:
                op.on_sent()
        for op in reversed(retry):
            self._backlog.appendleft(op)
            self._backlog_points += op.points
        if refused is not None:
            raise refused
        if unserved is not None:
            raise unserved
        if full is not None:
            raise full

    def _next_id(self, key: str) -> str:
        ms = time.time_ns() // 1_000_000
        last_ms, last_seq = self._last_ids.get(key, (0, 0))
        nxt = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        self._last_ids[key] = nxt
        return f"{nxt[0]}-{nxt[1]}"

    def _saw_id(self, key: str, reply: bytes) -> tuple[int, int]:
        seen = _stream_id(reply)
        if seen > self._last_ids.get(key, (0, 0)):
            self._last_ids[key] = seen
        return seen

    def _heartbeat(self) -> None:
        with self._lock:
            makers = list(self._heartbeats)
        ops = [op for op in (make() for make in makers) if op is not None]
        if ops:
            pipe = self.client.pipeline(transaction=False)
            for op in ops:
                pipe.execute_command(*op.args)
            pipe.execute(raise_on_error=False)

    def _recover(self) -> None:
        """Once per outage, when Redis answers again: what it lost goes first."""
        self._find_lost_tails()
        with self._lock:
            makers = list(self._recoveries)
        ops = [op for make in makers for op in make(self.client) if op.ready()]
        for op in reversed(ops):
            self._backlog.appendleft(op)
        self._lost_recorded.clear()  # a Redis that lost the run lost its record too: write it again
        self._recovered = True
        self._resending = len(self._backlog)

    def _find_lost_tails(self) -> None:
        """Counts as lost (SPEC section 11) the entries Redis acknowledged and no longer holds while
        it still holds older ones of the stream: a replica promoted by a failover before they
        reached it (asynchronous replication loses that unacknowledged tail). The IDs are logged.
        A stream gone whole is a Redis that lost the run, which the run's recovery writes again."""
        keys = list(self._acked)
        if not keys:
            return
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.xrevrange(key, count=1)
        for key, top in zip(keys, pipe.execute()):
            acked = self._acked[key]
            if not top:
                acked.clear()
                continue
            newest = _stream_id(top[0][0])
            gone = [entry for entry in acked if entry[0] > newest]
            if not gone:
                continue
            for _ in gone:
                acked.pop()
            points = sum(n for _, n in gone)
            self.dropped += points
            self.lost[key] = self.lost.get(key, 0) + points
            log.warning("chartbridge: Redis no longer holds %d points of %s that it had acknowledged (entries %d-%d "
                        "to %d-%d, after %d-%d): a failover to a replica they had not reached; counted in the run's "
                        "lost record", points, key, *gone[0][0], *gone[-1][0], *newest)

    def _back(self) -> None:
        """The backlog went through: only now is Redis back (it may answer PING and still refuse us)."""
        log.warning("chartbridge: Redis at %s is back; resent %d entries (%d points dropped so far)",
                    self.shown_url, self._resending, self.dropped)
        self._down = self._recovered = False
        self._fault_kind = self._fault = ""
        self._retry_delay = 0.0

    def _went_down(self, exc: Exception, now: float) -> None:
        kind, fault = describe_fault(exc, self.url)
        # One warning per outage, not per retry; another one only when the cause changes (the
        # password fixed, but the ACL user still lacks a right).
        if kind != self._fault_kind:
            log.warning("chartbridge: %s; charting goes on into a backlog of at most %d points (oldest "
                        "dropped beyond) and is resent once Redis takes it", fault, self.max_backlog)
        self._fault_kind, self._fault = kind, fault
        self._down = True
        self._retry_delay = min(max(self._retry_delay * 2, 0.02), _RETRY_MAX_S)
        self._retry_at = now + self._retry_delay
