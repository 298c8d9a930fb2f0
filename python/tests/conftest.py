"""Test harness: a private redis-server per test session, a clean SDK per test, and helpers.

The server (``chartbridge.testing.RedisServer``) listens on a free port on 127.0.0.1, never
6379, with persistence off; outage tests ``kill()`` it and ``start()`` it again on the same port.
``tls_redis`` is another one that serves TLS only, with certificates made by openssl
(test/harness/tls-certs.sh, shared with the TypeScript tests) and a password on its default user.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest
import redis

import chartbridge as cb
from chartbridge import protocol
from chartbridge.session import Settings
from chartbridge.testing import RedisClusterServers, RedisMissing, RedisServer

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "protocol" / "vectors"


Servers = TypeVar("Servers", RedisServer, RedisClusterServers)


def _running(servers: Servers) -> Iterator[Servers]:
    """Starts ``servers`` for a session (a missing redis-server ends the run with how to install
    it) and stops them after."""
    try:
        servers.start()
    except RedisMissing as exc:
        pytest.exit(str(exc), returncode=1)
    yield servers
    servers.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    yield from _running(RedisServer(tmp_path_factory.mktemp("redis")))


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """A real Redis Cluster: 3 masters, 3 replicas, on free loopback ports (never 6379)."""
    yield from _running(RedisClusterServers(tmp_path_factory.mktemp("cluster")))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tls_auth_clients(mode): tls_redis requires client certificates ('yes')")


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca.crt, server.crt/.key (127.0.0.1), client.crt/.key and an untrusted other-ca.crt."""
    directory = tmp_path_factory.mktemp("tls")
    subprocess.run(["bash", str(REPO / "test" / "harness" / "tls-certs.sh"), str(directory)], check=True)
    return directory


TLS_ADMIN_PASSWORD = "admin-pw-for-tests"


@pytest.fixture
def tls_redis(tmp_path: Path, tls_files: Path, request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    """A private TLS-only redis-server for one test; ``@pytest.mark.tls_auth_clients("yes")``
    makes it require a client certificate. The SDK is put back on the plain one afterwards."""
    mark = request.node.get_closest_marker("tls_auth_clients")
    server = RedisServer(tmp_path, tls_dir=tls_files, password=TLS_ADMIN_PASSWORD,
                         tls_auth_clients=mark.args[0] if mark else "optional")
    server.start()
    yield server
    cb.configure(exit_timeout=0.2)  # the test's session gives up its leftovers fast
    cb.configure(**dataclasses.asdict(Settings()))
    server.stop()


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


def nautilus_1x_only(why: str) -> None:
    """Skip the calling test module (or test, called in one) unless this venv's NautilusTrader is 1.x: its code is written
    against 1.x's API (``why`` says what covers 2.x). The suite runs in both venvs (scripts/test-all.sh)."""
    nautilus = pytest.importorskip("nautilus_trader")
    if int(nautilus.__version__.split(".")[0]) >= 2:
        pytest.skip(f"NautilusTrader 1.x only (this venv has {nautilus.__version__}): {why}", allow_module_level=True)


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


class EquitySeen:
    """A Nautilus strategy mixin (1.x and 2.x alike): notes the account's equity as Nautilus
    values it (``Portfolio.equity``) when each bar is handled, per currency, in ``equity_seen``."""

    def on_bar(self, bar: Any) -> None:
        seen: dict[str, list[float]] = self.__dict__.setdefault("equity_seen", {})
        for currency, money in self.portfolio.equity(bar.bar_type.instrument_id.venue).items():  # type: ignore[attr-defined]
            seen.setdefault(currency.code, []).append(float(money.as_decimal()))
        super().on_bar(bar)  # type: ignore[misc]


def run_and_compare_equity(r: redis.Redis, engine: Any, strategy: Any, times: list[int]) -> None:
    """Runs a cash-account backtest of an ``EquitySeen`` strategy charted by ``ChartbridgeActor``
    (either Nautilus line) and checks each currency's equity point, at each bar, is Nautilus's."""
    from chartbridge.nautilus import ChartbridgeActor

    engine.add_strategy(strategy)
    engine.add_actor(ChartbridgeActor())
    engine.run()
    assert cb.flush(10)
    assert engine.cache.orders_total_count() > 5
    for currency in ("USD", "EUR"):
        assert read_points(r, f"equity:SIM:{currency}") == (times, {"y": strategy.equity_seen[currency]})
    assert cb.stats()["rejected"] == 0
    engine.dispose()


def interpreted(module: ModuleType) -> ModuleType:
    """``module`` (compiled from Cython pure-Python mode) run from its .py source by the
    interpreter, beside the compiled one: the two forms of one source compared in tests."""
    package, _, name = module.__name__.rpartition(".")  # its package, so relative imports resolve
    spec = importlib.util.spec_from_file_location(f"{package}._interpreted_{name}",
                                                  Path(module.__file__ or "").with_suffix("").with_suffix(".py"))
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded
