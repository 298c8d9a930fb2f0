"""Test harness: a private redis-server per test session, a clean SDK per test, and helpers.

The server listens on a free port on 127.0.0.1 (never 6379) with persistence off; tests that
need a restart to keep data call ``RedisServer.restart(keep_data=True)``, which SAVEs into the
server's private directory first.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

import chartbridge as cb
from chartbridge import protocol
from chartbridge.session import Settings

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "protocol" / "vectors"
MISSING = "redis-server not found: install it with 'sudo apt-get install -y redis-server'"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class RedisServer:
    """A private redis-server that can be killed and started again on the same port."""

    directory: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.exit(MISSING, returncode=1)
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--loglevel", "notice"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        seen = []
        for line in self.proc.stdout:  # wait for the event, not for a guessed delay
            seen.append(line)
            if "Ready to accept connections" in line:
                break
        else:
            raise RuntimeError("redis-server did not start:\n" + "".join(seen))
        # Keep reading so a chatty server never blocks on a full pipe.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def kill(self, keep_data: bool = False) -> None:
        """Stop the server at once; with ``keep_data`` its data is saved first and reloaded by
        the next ``start`` (as a persistent production Redis would)."""
        assert self.proc is not None
        if keep_data:
            redis.Redis.from_url(self.url).save()
        else:
            (self.directory / "dump.rdb").unlink(missing_ok=True)
        self.proc.kill()
        self.proc.wait()

    def restart(self, keep_data: bool = False) -> None:
        self.kill(keep_data)
        self.start()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    if server.proc is not None:
        server.proc.kill()
        server.proc.wait()


_prefixes = itertools.count()


@pytest.fixture
def r(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A raw client of the private Redis, emptied, with the SDK configured against it."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    cb.set_clock(None)
    defaults = dataclasses.asdict(Settings())  # undo what an earlier test configured
    cb.configure(**{**defaults, "url": redis_server.url, "prefix": f"t{next(_prefixes)}", "run": "testrun",
                    "strategy": "tests", "enabled": True, "exit_timeout": 2.0})
    yield client
    cb.configure(exit_timeout=0.5)
    cb.set_clock(None)
    client.close()


def keys(run: str = "testrun") -> protocol.Keys:
    return protocol.Keys(cb.session.current().settings.prefix, run)


def read_entries(r: redis.Redis, series: str, run: str = "testrun") -> list[protocol.Entry]:
    """Decode every entry of a series stream (checking it against its registry kind)."""
    k = keys(run)
    registry = r.hget(k.series, series)
    kind = json.loads(registry)["kind"] if registry else None
    return [protocol.decode(fields, kind) for _, fields in r.xrange(k.stream(series))]


def read_points(r: redis.Redis, series: str, run: str = "testrun") -> tuple[list[int], dict[str, list[Any]]]:
    """All points of a series: times and columns (marker objects under "m")."""
    times: list[int] = []
    cols: dict[str, list[Any]] = {}
    for entry in read_entries(r, series, run):
        times += entry.t
        for name, values in entry.columns.items():
            cols.setdefault(name, []).extend(values)
        if entry.markers is not None:
            cols.setdefault("m", []).extend(entry.markers)
    return times, cols


def registry(r: redis.Redis, series: str, run: str = "testrun") -> dict[str, Any]:
    raw = r.hget(keys(run).series, series)
    assert raw is not None, f"series {series!r} is not registered"
    value: dict[str, Any] = json.loads(raw)
    return value


def events(r: redis.Redis, run: str = "testrun") -> list[tuple[str, Any]]:
    return [(f[b"type"].decode(), json.loads(f[b"data"])) for _, f in r.xrange(keys(run).events)]
