"""Notebooks: a run as pandas DataFrames (``load_run``) and its live chart inline (``show``).

Needs the ``notebook`` extra (pandas, anywidget): ``pip install 'chartbridge[notebook]'``.
``load_run`` reads Redis directly (wire format: protocol/SPEC.md, decoded by ``protocol.decode``);
``show`` displays the server's own chart page, so the notebook shows exactly what the VS Code panel
shows, and finds or starts that server the way ``chartbridge serve`` does.
"""

from __future__ import annotations

import atexit
import base64
import ctypes
import json
import math
import operator
import os
import re
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import urlencode, urlsplit


from . import session as _session
from .producer import Client, connect
from .protocol import CANDLE_KINDS, Entry, Keys, ProtocolError, check_run_id, decode
from .runfile import RunFile, read_run_file

try:
    import anywidget
    import pandas as pd
    import traitlets
except ImportError as exc:
    raise ImportError(f"chartbridge.notebook needs {exc.name}: pip install 'chartbridge[notebook]'") from exc

MARKER_FIELDS = ("side", "text", "shape", "position", "color")
_READ_COUNT = 1000  # stream entries per XRANGE reply: big series arrive in bounded pieces


# ---------------------------------------------------------------------------------------------
# A run as DataFrames


@dataclass
class RunFrames:
    """One run read from Redis: per series a DataFrame indexed by UTC time, and the rest.

    ``series[id]`` columns: ``value`` (line, area, baseline, histogram), ``open high low close``
    and ``volume`` when the producer sent it (candlestick, bar), ``price side text shape position
    color`` (marker; ``price`` NaN: no price). ``info[id]`` is the registry entry, ``rejected[id]``
    and ``stale[id]`` count what the ordering and validity rules dropped (SPEC section 3), ``lost[id]``
    the points the producer could not store (the run's ``lost`` record, SPEC section 11).
    """

    id: str
    manifest: dict[str, str]
    series: dict[str, pd.DataFrame]
    info: dict[str, dict[str, Any]]
    events: pd.DataFrame
    results: dict[str, Any] | None
    plugins: dict[str, dict[str, Any]]
    rejected: dict[str, int] = field(default_factory=dict)
    stale: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)

    @property
    def markers(self) -> pd.DataFrame:
        """Every marker series' points in one frame, with a ``series`` column, in time order."""
        frames = [df.assign(series=sid) for sid, df in self.series.items() if self.info[sid]["kind"] == "marker"]
        if not frames:
            return pd.DataFrame(columns=["series", "price", *MARKER_FIELDS], index=_utc_index([]))
        return pd.concat(frames).sort_index(kind="stable")

    @property
    def stats(self) -> pd.Series:
        """End-of-run statistics (``cb.results``) by name; empty without results."""
        return pd.Series((self.results or {}).get("stats", {}), dtype=object)

    @property
    def trades(self) -> pd.DataFrame:
        """The results' trades, ``entry_t``/``exit_t`` as UTC times."""
        df = pd.DataFrame((self.results or {}).get("trades", []))
        for col in ("entry_t", "exit_t"):
            if col in df:
                df[col] = pd.to_datetime(df[col].astype("int64"), unit="ns", utc=True)
        return df


def _utc_index(ns: list[int]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(pd.Series(ns, dtype="int64"), unit="ns", utc=True), name="time")


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "replace")


# redis-py types replies as bytes or str (it depends on decode_responses); ours are bytes.
StreamEntries = list[tuple[bytes, dict[bytes, bytes]]]


def _hash(client: Client, key: str) -> dict[bytes, bytes]:
    return cast(dict[bytes, bytes], client.hgetall(key))


def _xrange(client: Client, key: str, after: str = "-", count: int | None = None) -> StreamEntries:
    return cast(StreamEntries, client.xrange(key, min=after, max="+", count=count))


def _client() -> Client:
    s = _session.current().settings
    return connect(s.url, **s.tls())


def _resolve_run(client: Client, prefix: str, run: str | None) -> str:
    """``run``, else this process's current run, else the newest run in Redis."""
    if run is not None:
        return check_run_id(run)
    current = _session.current().run
    if current is not None:
        return current.id
    newest = cast(list[bytes], client.zrevrange(Keys(prefix, "-").runs, 0, 0))
    if not newest:
        raise LookupError(f"no run in Redis under prefix {prefix!r}: pass run=, or chart something first")
    return str(newest[0].decode())


_COLUMN_NAMES = {"y": "value", "o": "open", "h": "high", "l": "low", "c": "close", "vol": "volume"}


def _frame_columns(kind: str) -> list[str]:
    if kind in CANDLE_KINDS:
        return ["open", "high", "low", "close", "volume"]
    return ["price", *MARKER_FIELDS] if kind == "marker" else ["value"]


def _entry_columns(entry: Entry) -> dict[str, list[Any]]:
    """An entry's points as frame columns (a candle entry without ``vol`` gets NaN volumes)."""
    cols: dict[str, list[Any]] = {_COLUMN_NAMES[name]: values for name, values in entry.columns.items()}
    if entry.kind == "marker":
        cols["price"] = cols.pop("value")
        for name in MARKER_FIELDS:
            cols[name] = [m.get(name) for m in entry.markers or ()]
    elif entry.kind in CANDLE_KINDS and "volume" not in cols:
        cols["volume"] = [math.nan] * len(entry.t)
    return cols


def _read_series(entries: Iterable[tuple[bytes, dict[bytes, bytes]]], kind: str) -> tuple[pd.DataFrame, int, int]:
    """The series' points after the ordering rule (SPEC section 3), with its rejected and stale counts."""
    names = _frame_columns(kind)
    times: list[int] = []
    cols: dict[str, list[Any]] = {name: [] for name in names}
    rejected = stale = 0
    with_volume = False
    for _entry_id, fields in entries:
        try:
            entry = decode(cast(dict[str | bytes, bytes | str], fields), kind)
        except ProtocolError:
            rejected += 1  # the server logs it and shows the count; the frame holds what it shows
            continue
        with_volume = with_volume or "vol" in entry.columns
        values = _entry_columns(entry)
        t = entry.t
        # Markers are events: one at the last time is kept too (SPEC section 3's ordering rule).
        rising = operator.le if kind == "marker" else operator.lt
        if (not times or rising(times[-1], t[0])) and all(map(rising, t, islice(t, 1, None))):
            times += t  # the usual entry: after the last point, times rising; whole columns at once
            for name in names:
                cols[name] += values[name]
            continue
        for i, ns in enumerate(t):
            if times and ns < times[-1]:
                stale += 1
                continue
            if times and ns == times[-1] and kind != "marker":  # the later value at one time replaces the earlier
                for name in names:
                    cols[name][-1] = values[name][i]
                continue
            times.append(ns)
            for name in names:
                cols[name].append(values[name][i])
    if kind in CANDLE_KINDS and not with_volume:
        del cols["volume"]
    return pd.DataFrame(cols, index=_utc_index(times)), rejected, stale


class _RunSource(Protocol):
    """Where a run's keys are read from, by suffix (the key without ``<prefix>:{<run>}:``)."""

    def hash(self, suffix: str) -> dict[bytes, bytes]: ...
    def get(self, suffix: str) -> bytes | None: ...
    def entries(self, suffix: str) -> Iterable[tuple[bytes, dict[bytes, bytes]]]: ...


@dataclass
class _RedisRun:
    client: Client
    keys: Keys

    def hash(self, suffix: str) -> dict[bytes, bytes]:
        return _hash(self.client, self.keys.tagged(suffix))

    def get(self, suffix: str) -> bytes | None:
        return cast(bytes | None, self.client.get(self.keys.tagged(suffix)))

    def entries(self, suffix: str) -> Iterator[tuple[bytes, dict[bytes, bytes]]]:
        """Every entry, in XRANGE replies of bounded size (big series arrive in pieces)."""
        after = "-"
        while True:
            chunk = _xrange(self.client, self.keys.tagged(suffix), after, _READ_COUNT)
            yield from chunk
            if len(chunk) < _READ_COUNT:
                return
            after = "(" + chunk[-1][0].decode()  # exclusive: the next entry after the last one read


@dataclass
class _FileRun:
    file: RunFile

    def hash(self, suffix: str) -> dict[bytes, bytes]:
        return self.file.hashes.get(suffix, {})

    def get(self, suffix: str) -> bytes | None:
        return self.file.strings.get(suffix)

    def entries(self, suffix: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
        return self.file.streams.get(suffix, [])


def _frames(run_id: str, source: _RunSource) -> RunFrames:
    """A run's DataFrames from its keys (a registry entry that is not JSON is left out, as the server does)."""
    manifest = {k.decode(): v.decode() for k, v in source.hash("manifest").items()}
    info: dict[str, dict[str, Any]] = {}
    for raw_id, raw in sorted(source.hash("series").items()):
        try:
            registered = json.loads(raw)
        except ValueError:
            continue
        if isinstance(registered, dict) and isinstance(registered.get("kind"), str):
            info[raw_id.decode()] = registered
    frames = RunFrames(run_id, manifest, {}, info, _events(source.entries("events")), _json_or_none(source.get("results")),
                       {k.decode(): json.loads(v) for k, v in source.hash("plugins").items()},
                       lost={k.decode(): int(v) for k, v in source.hash("lost").items() if v.isdigit()})
    for sid, entry in info.items():
        df, frames.rejected[sid], frames.stale[sid] = _read_series(source.entries(f"s:{sid}"), entry["kind"])
        frames.series[sid] = df
    return frames


def _is_path(run: str | os.PathLike[str] | None) -> bool:
    """A path object, or a string with a ``/`` (never in a run id) or ending in ``.cbrun``."""
    return isinstance(run, os.PathLike) or isinstance(run, str) and ("/" in run or run.endswith(".cbrun"))


def load_run(run: str | os.PathLike[str] | None = None) -> RunFrames:
    """A run as DataFrames: from a run file (``chartbridge export``'s ``.cbrun``: a path object, or
    a string with a ``/`` or ending in ``.cbrun``), else from Redis: run ``run``, else the current
    run of this process, else the newest run, with the Redis URL, TLS files and prefix of
    ``cb.configure``. A bad file raises ``chartbridge.runfile.RunFileError`` saying where.

    >>> frames = cb.load_run("ema-sweep-20")
    >>> frames = cb.load_run("runs/ema-sweep-20.cbrun")
    >>> frames.series["EMACross.on_bar"].close.describe()
    """
    if run is not None and _is_path(run):
        file = read_run_file(run)
        return _frames(file.run, _FileRun(file))
    _session.flush()  # what this process recorded so far is in Redis before it is read
    prefix = _session.current().settings.prefix
    client = _client()
    try:
        run_id = _resolve_run(client, prefix, cast(str | None, run))
        keys = Keys(prefix, run_id)
        if not _hash(client, keys.manifest):
            raise LookupError(f"run {run_id!r} is not in Redis under prefix {prefix!r}")
        return _frames(run_id, _RedisRun(client, keys))
    finally:
        client.close()


def _json_or_none(raw: bytes | None) -> Any:
    return None if raw is None else json.loads(raw)


def _events(entries: Iterable[tuple[bytes, dict[bytes, bytes]]]) -> pd.DataFrame:
    """Run events (SPEC section 6): ``id`` (stream ID), ``type``, ``data`` (parsed JSON), indexed
    by the time Redis stored them (the ID's milliseconds)."""
    ids, types, data = [], [], []
    for entry_id, fields in entries:
        ids.append(entry_id.decode())
        types.append(_text(fields.get(b"type")))
        data.append(_json_or_none(fields.get(b"data")))
    ms = [int(i.split("-")[0]) * 1_000_000 for i in ids]
    return pd.DataFrame({"id": ids, "type": types, "data": data}, index=_utc_index(ms))


# ---------------------------------------------------------------------------------------------
# The server the chart page comes from

SERVER_ENV = "CHARTBRIDGE_SERVER"  # "http://127.0.0.1:PORT/?token=T", the line `chartbridge serve` prints
_PAGE_URL = re.compile(r"(http://[^/?]+)/\?token=([0-9A-Za-z_-]+)")
_PAGE_LINE = re.compile(r"Chartbridge server: " + _PAGE_URL.pattern)
_START_TIMEOUT = 30.0


@dataclass
class ChartServer:
    """A Chartbridge server: its address (without the token), its token and, when this process
    started it, the child process."""

    url: str
    token: str
    proc: subprocess.Popen[str] | None = None

    def page(self, run: str) -> str:
        """The chart page of ``run`` (the standalone page, src/server/standalonePage.ts)."""
        return f"{self.url}/?{urlencode({'run': run, 'token': self.token})}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def _parse_server(url: str, where: str) -> ChartServer:
    match = _PAGE_URL.fullmatch(url.strip())
    if match is None:  # the value is not repeated: it may hold a token
        raise ValueError(f"{where} is not 'http://HOST:PORT/?token=TOKEN', the URL `chartbridge serve` prints")
    return ChartServer(match.group(1), match.group(2))


def _server_js() -> Path:
    """dist/server.js of this checkout (``npm run build`` makes it), or env ``CHARTBRIDGE_SERVER_JS``."""
    given = os.environ.get("CHARTBRIDGE_SERVER_JS")
    return Path(given) if given else Path(__file__).resolve().parents[3] / "dist" / "server.js"


def _death_signal() -> Any:
    """On Linux, what the server's child runs before exec: ask for SIGTERM when the kernel dies
    (PR_SET_PDEATHSIG), so a killed kernel (no atexit) leaves no server behind. Looked up here, in
    the parent: the child between fork and exec should only make the call."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(1, signal.SIGTERM)


def start_server() -> ChartServer:
    """Start ``node dist/server.js serve`` on a free loopback port with a fresh token, reading
    the Redis and prefix of ``cb.configure`` (passed in the environment, so no password shows in
    the process list). Raises ``RuntimeError`` with the server's output if it does not start."""
    node = shutil.which("node")
    script = _server_js()
    if node is None or not script.is_file():
        raise RuntimeError(f"cannot start the Chartbridge server: {'node is not on PATH' if node is None else f'{script} is missing (npm run build)'}; "
                           f"or set {SERVER_ENV} to the URL a running `chartbridge serve` printed")
    s = _session.current().settings
    token = secrets.token_hex(32)
    env = {**os.environ, "CHARTBRIDGE_TOKEN": token, "CHARTBRIDGE_REDIS_URL": s.url,
           **{name: path for name, path in (("CHARTBRIDGE_REDIS_CA", s.redis_ca), ("CHARTBRIDGE_REDIS_CERT", s.redis_cert),
                                            ("CHARTBRIDGE_REDIS_KEY", s.redis_key)) if path}}
    proc = subprocess.Popen([node, str(script), "serve", "--host", "127.0.0.1", "--port", "0", "--prefix", s.prefix],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            preexec_fn=_death_signal())
    seen: list[str] = []
    found: list[ChartServer] = []
    ready = threading.Event()

    def read() -> None:  # keeps draining afterwards, so a chatty server never blocks on a full pipe
        assert proc.stdout is not None
        for line in proc.stdout:
            if not ready.is_set():
                seen.append(line)
                page = _PAGE_LINE.fullmatch(line.strip())
                if page:
                    found.append(ChartServer(page.group(1), page.group(2)))
                if line.startswith("redis: "):
                    ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True, name="chartbridge-server-output").start()
    ready.wait(_START_TIMEOUT)
    if not found or proc.poll() is not None:
        proc.kill()
        raise RuntimeError("the Chartbridge server did not start:\n" + "".join(seen).replace(token, "***"))
    server = ChartServer(found[0].url, token, proc)
    atexit.register(server.stop)
    return server


# The VS Code extension's server, found by its discovery record (written by
# src/extension/serverRecord.ts; format in protocol/SPEC.md, "Finding the extension's server").
# Kernels are started by the Jupyter extension, so no environment variable of ours reaches them;
# a file is what Jupyter itself uses (kernel-*.json). Security: the record holds a token, so only
# records in a directory of this user, owned by this user and readable by no one else (0600) are
# trusted; a record of another user could point a kernel at a server that is not ours.
RECORD_VERSION = 1


def runtime_dir() -> Path:
    """``$CHARTBRIDGE_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/chartbridge``, else
    ``~/.cache/chartbridge/servers`` (the rule of serverRecord.ts's ``recordDir``)."""
    if os.environ.get("CHARTBRIDGE_RUNTIME_DIR"):
        return Path(os.environ["CHARTBRIDGE_RUNTIME_DIR"])
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "chartbridge"
    return Path.home() / ".cache" / "chartbridge" / "servers"


def _redis_place(url: str) -> tuple[bool, str, int, int] | None:
    """(TLS, host, port, db) of a Redis URL, redacted or not; None if it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port or 6379
        db = int(parts.path.lstrip("/") or 0)
    except ValueError:
        return None
    host = parts.hostname or "127.0.0.1"
    return parts.scheme == "rediss", "127.0.0.1" if host == "localhost" else host, port, db


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, of another user: its record is refused by the owner check anyway
    return True


def discover_server(directory: Path | None = None) -> ChartServer | None:
    """The VS Code extension's server for this kernel's ``cb.configure`` Redis (host, port, db)
    and prefix, from its record in ``runtime_dir()``; of several, the one whose workspace folder
    holds the current directory. A record of a dead process is removed; None when none fits."""
    directory = runtime_dir() if directory is None else directory
    s = _session.current().settings
    want = _redis_place(s.url)
    cwd = Path.cwd().resolve()
    found: list[tuple[bool, ChartServer]] = []
    for file in sorted(directory.glob("server-*.json")):
        try:
            st = file.stat()
            if st.st_uid != os.getuid() or st.st_mode & 0o077:
                continue  # not this user's own private record: not trusted (see above)
            record = json.loads(file.read_text())
            pid, url, token = record["pid"], record["url"], record["token"]
            if record.get("version") != RECORD_VERSION or not isinstance(pid, int) or _PAGE_URL.fullmatch(f"{url}/?token={token}") is None:
                continue
        except (OSError, ValueError, KeyError, TypeError):
            continue  # half-written by someone else or not ours: skipped, never an error for show()
        if not _alive(pid):
            file.unlink(missing_ok=True)  # left by a killed VS Code
            continue
        if _redis_place(str(record.get("redis"))) != want or record.get("prefix") != s.prefix:
            continue
        folders = [Path(f) for f in record.get("workspaceFolders") or [] if isinstance(f, str)]
        found.append((any(cwd.is_relative_to(f) for f in folders), ChartServer(url, token)))
    found.sort(key=lambda item: not item[0])  # stable: a server whose workspace holds cwd first
    return found[0][1] if found else None


_server: ChartServer | None = None
_server_lock = threading.Lock()


def server() -> ChartServer:
    """The server ``show`` uses: the one named by env ``CHARTBRIDGE_SERVER`` (e.g. one
    `chartbridge serve` runs), else the VS Code extension's (``discover_server``), else one this
    process starts once."""
    global _server
    given = os.environ.get(SERVER_ENV)
    if given:
        return _parse_server(given, SERVER_ENV)
    found = discover_server()  # read at each call: the extension restarts its server with a new token
    if found is not None:
        return found
    with _server_lock:
        if _server is None or (_server.proc is not None and _server.proc.poll() is not None):
            _server = start_server()
        return _server


# ---------------------------------------------------------------------------------------------
# The static picture a notebook keeps for viewers without a kernel

_BACKGROUND = (255, 255, 255)
_UP, _DOWN, _LINE = (8, 153, 129), (242, 54, 69), (41, 98, 255)  # the chart's light theme (src/webview/theme.ts)


def _rgb(color: object, default: tuple[int, int, int]) -> tuple[int, int, int]:
    if isinstance(color, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", color):
        return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
    return default


def png(width: int, height: int, pixels: bytes) -> bytes:
    """An 8-bit RGB PNG of ``pixels`` (rows top to bottom, 3 bytes a pixel)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    stride = 3 * width
    raw = b"".join(b"\x00" + pixels[r * stride:(r + 1) * stride] for r in range(height))  # filter 0 per row
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def render_png(frames: RunFrames, width: int = 800, height: int = 400) -> bytes | None:
    """The main pane's candles and lines at one pixel column per time bucket, as a PNG; None if
    the main pane has no points. Drawn in the kernel from the data, so a notebook executed
    without any browser (nbclient, papermill) keeps a picture too."""
    import numpy as np

    shown = [(sid, frames.series[sid]) for sid, entry in frames.info.items()
             if entry.get("pane", "main") == "main" and entry["kind"] != "marker" and len(frames.series[sid])]
    if not shown:
        return None
    img = np.empty((height, width, 3), np.uint8)
    img[:] = _BACKGROUND
    ns = [cast(pd.DatetimeIndex, df.index).asi8 for _, df in shown]
    t0, t1 = min(int(a[0]) for a in ns), max(int(a[-1]) for a in ns)
    lows = [df["low"] if "low" in df else df["value"] for _, df in shown]
    highs = [df["high"] if "high" in df else df["value"] for _, df in shown]
    lo, hi = min(float(x.min()) for x in lows), max(float(x.max()) for x in highs)
    pad = (hi - lo) * 0.05 or 1.0
    lo, hi = lo - pad, hi + pad

    def ys(v: Any) -> Any:
        return np.clip(((hi - np.asarray(v, float)) / (hi - lo) * (height - 1)).round().astype(int), 0, height - 1)

    for (sid, df), t in zip(shown, ns):
        x = ((t - t0) * (width - 1) // max(t1 - t0, 1)).astype(int)
        buckets = df.groupby(x)
        if "open" in df:
            ohlc = buckets.agg(open=("open", "first"), high=("high", "max"), low=("low", "min"), close=("close", "last"))
            body = max(1, int(0.7 * width / max(len(ohlc), 1)))
            for col, o, h, l, c in zip(ohlc.index, ys(ohlc.open), ys(ohlc.high), ys(ohlc.low), ys(ohlc.close)):
                color = _UP if c <= o else _DOWN  # pixel rows grow downwards: a rising close is higher up
                img[h:l + 1, col] = color
                left = max(0, col - body // 2)
                img[min(o, c):max(o, c) + 1, left:left + body] = color
        else:
            span = buckets["value"].agg(["min", "max", "first", "last"])
            color = _rgb(frames.info[sid].get("color"), _LINE)
            prev: tuple[int, int] | None = None
            for col, top, bottom, first, last in zip(span.index, ys(span["max"]), ys(span["min"]), ys(span["first"]),
                                                     ys(span["last"])):
                img[top:bottom + 1, col] = color  # every value of the column's bucket
                if prev is not None:  # a straight segment from the previous bucket's last value
                    steps = max(col - prev[0], abs(first - prev[1])) + 1
                    img[np.linspace(prev[1], first, steps).round().astype(int),
                        np.linspace(prev[0], col, steps).round().astype(int)] = color
                prev = (col, last)
    return png(width, height, img.tobytes())


# ---------------------------------------------------------------------------------------------
# The widget

# Shows the picture (a synced trait, so saved widget state holds it too) until the kernel answers
# with the page URL. The URL holds the token, and a custom comm message is never saved with the
# notebook (widget state and outputs are), so the token stays out of the file; with no kernel
# behind the saved state, no answer comes and the picture stays.
_ESM = """
function render({ model, el }) {
  const picture = document.createElement("img");
  picture.alt = "Chartbridge chart (static: run the cell for the live chart)";
  picture.style.cssText = "max-width: 100%; display: block;";
  if (model.get("picture")) picture.src = model.get("picture");
  const frame = document.createElement("iframe");
  frame.title = "Chartbridge chart";
  frame.style.cssText = "width: 100%; border: 0; display: block;";
  const size = () => { frame.style.height = `${model.get("height")}px`; };
  size();
  model.on("change:height", size);
  const onMessage = (msg) => {
    if (!msg || msg.type !== "page") return;
    frame.src = msg.url;
    picture.replaceWith(frame);
  };
  model.on("msg:custom", onMessage);
  el.appendChild(picture);
  model.send({ type: "page" });
  return () => { model.off("msg:custom", onMessage); model.off("change:height", size); };
}
export default { render };
"""


class ChartWidget(anywidget.AnyWidget):
    """A run's live chart: the server's chart page in an iframe. Until the page comes, and where no
    kernel answers (a saved notebook's widget state), it shows a PNG of the run (``render_png``),
    which its output also carries as ``image/png`` for viewers that render no widgets."""

    _esm = traitlets.Unicode(_ESM).tag(sync=True)
    run = traitlets.Unicode("").tag(sync=True)
    height = traitlets.Int(480).tag(sync=True)
    picture = traitlets.Unicode("").tag(sync=True)  # a data: URL of the PNG, or ""

    def __init__(self, run: str, height: int, chart_server: ChartServer, picture: bytes | None) -> None:
        data_url = "" if picture is None else "data:image/png;base64," + base64.b64encode(picture).decode()
        super().__init__(run=run, height=height, picture=data_url)
        self._chart_server = chart_server
        self._picture = picture
        self.on_msg(self._on_frontend)

    def _on_frontend(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "page":
            self.send({"type": "page", "url": self._chart_server.page(self.run)})

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        bundle = super()._repr_mimebundle_(**kwargs)  # (data, metadata)
        if bundle is not None and self._picture is not None:
            bundle[0]["image/png"] = base64.b64encode(self._picture).decode()
        return bundle


def show(run: str | None = None, height: int = 480) -> None:
    """Display a run's chart in the notebook, live while the run goes on (the current run of this
    process by default, else the newest run). The server comes from env ``CHARTBRIDGE_SERVER``,
    else the VS Code extension's (its discovery record), else this process starts one (``node dist/server.js serve``, a free port, a fresh token)."""
    from IPython.display import display  # IPython comes with ipykernel

    frames = load_run(run)
    display(ChartWidget(  # type: ignore[no-untyped-call]  # IPython is untyped
frames.id, height, server(), render_png(frames)))
