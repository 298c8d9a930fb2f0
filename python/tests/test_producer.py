"""The background producer: outages, backlog bound, resend without duplicates, threads, exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest
import redis
from conftest import keys, read_points, registry

import chartbridge as cb
import chartbridge.producer as producer_module
from chartbridge.testing import RedisMissing, RedisServer

T0 = 1_700_000_000_000_000_000


def fresh(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(server.url)


def test_restart_with_data_kept_loses_nothing_and_duplicates_nothing(redis_server: RedisServer,
                                                                     r: redis.Redis) -> None:
    s = cb.series("live")
    for i in range(100):
        s.add(float(i), time=T0 + i)
    assert cb.flush()
    redis_server.kill(keep_data=True)
    started = time.perf_counter()
    for i in range(100, 300):
        s.add(float(i), time=T0 + i)  # the strategy keeps going and nothing raises
    assert time.perf_counter() - started < 0.05
    assert not cb.flush(timeout=0.2)
    assert cb.stats()["connected"] is False and cb.stats()["backlog"] == 200
    redis_server.start()
    assert cb.flush(timeout=10)
    times, cols = read_points(fresh(redis_server), "live")
    assert times == list(range(T0, T0 + 300)) and cols["y"] == [float(i) for i in range(300)]
    assert cb.stats()["dropped"] == 0 and cb.stats()["connected"] is True


def test_restart_without_persistence_writes_the_run_again(redis_server: RedisServer, r: redis.Redis,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    s = cb.series("live", kind="area")
    s.add(1.0, time=T0)
    assert cb.flush()
    redis_server.kill()
    s.add(2.0, time=T0 + 1)
    s.add(3.0, time=T0 + 2)
    assert not cb.flush(timeout=0.2)
    redis_server.start()
    assert cb.flush(timeout=10)
    client = fresh(redis_server)
    assert client.hget(keys().manifest, "status") == b"running"
    assert client.zrange(keys().runs, 0, -1) == [b"testrun"]
    assert registry(client, "live")["kind"] == "area"
    assert read_points(client, "live") == ([T0 + 1, T0 + 2], {"y": [2.0, 3.0]})  # the first went with Redis
    messages = [rec.getMessage() for rec in caplog.records if rec.name == "chartbridge"]
    assert sum("unreachable" in m for m in messages) == 1  # one warning per outage
    assert sum("is back" in m for m in messages) == 1


def test_a_hand_over_reads_its_replies_at_the_next_and_a_reply_lost_between_doubles_nothing(
        r: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paced (a backtest's hand-overs), a cycle sends and leaves its replies to the next one, so
    the strategy goes on while Redis stores the points. The connection lost before the next one
    reads them: the entries Redis stored are sent again and refused as stale ids, never doubled."""
    s = cb.series("paced")
    s.add(-1.0, time=T0)
    assert cb.flush()
    producer = cb.session.current().producer
    producer.pace(True)
    entries = cb.stats()["entries"]
    for i in range(100):
        s.add(float(i), time=T0 + 1 + i)
    producer.deliver()
    assert cb.stats()["entries"] == entries and cb.stats()["backlog"] == 100  # sent, not acknowledged yet
    real_read = redis.connection.AbstractConnection.read_response
    lost = []

    def lose_the_reply(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not lost:
            lost.append(True)
            raise redis.ConnectionError("connection reset before the replies were read")
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "read_response", lose_the_reply)
    for i in range(100, 200):
        s.add(float(i), time=T0 + 1 + i)
    producer.deliver()
    assert lost == [True]
    assert cb.stats()["connected"] is False and cb.stats()["backlog"] == 200
    producer.pace(False)
    assert cb.flush(timeout=10)
    assert read_points(r, "paced") == ([T0 + i for i in range(201)], {"y": [float(i) for i in range(-1, 200)]})
    assert cb.stats()["dropped"] == 0 and cb.stats()["backlog"] == 0 and cb.stats()["connected"] is True


def test_a_flush_reads_the_replies_a_hand_over_left(r: redis.Redis) -> None:
    s = cb.series("paced")
    producer = cb.session.current().producer
    producer.pace(True)
    s.add(1.0, time=T0)
    producer.deliver()
    assert cb.stats()["entries"] == 0 and cb.stats()["backlog"] == 1  # sent, its replies unread
    assert cb.flush()
    stored = sum(r.xlen(key) for key in r.scan_iter(_type="STREAM"))  # the run's events, runlog, the point
    assert cb.stats()["entries"] == stored == 3 and cb.stats()["backlog"] == 0
    assert read_points(r, "paced") == ([T0], {"y": [1.0]})
    producer.pace(False)


def test_backlog_is_bounded_and_drops_the_oldest(redis_server: RedisServer, r: redis.Redis) -> None:
    cb.configure(backlog=1000, flush_interval=0.001)
    s = cb.series("bounded")
    s.add(-1.0, time=T0)
    assert cb.flush()
    redis_server.kill()
    total = 5000
    for i in range(total):
        s.add(float(i), time=T0 + 1 + i)
        if i % 500 == 0:
            cb.flush(timeout=0.01)  # let the flush thread move points into the backlog
    redis_server.start()
    assert cb.flush(timeout=10)
    times, cols = read_points(fresh(redis_server), "bounded")
    dropped = cb.stats()["dropped"]
    assert 0 < len(times) <= 1000 and len(times) + dropped == total
    assert cols["y"] == [float(i) for i in range(total - len(times), total)]  # the newest survive, in order
    # Loud: counted per series, and written to the run's lost record once Redis is back.
    assert cb.stats()["lost"] == {"bounded": dropped}
    assert fresh(redis_server).hgetall(keys().lost) == {b"bounded": str(dropped).encode()}


def test_nothing_is_dropped_while_redis_answers_even_beyond_the_backlog_bound(r: redis.Redis) -> None:
    cb.configure(backlog=1000, flush_interval=1.0)  # one cycle collects far more than the bound
    s = cb.series("burst")
    total = 5000
    for i in range(total):
        s.add(float(i), time=T0 + i)
    assert cb.flush(timeout=10)
    times, cols = read_points(r, "burst")
    assert times == list(range(T0, T0 + total)) and cols["y"] == [float(i) for i in range(total)]
    assert cb.stats()["dropped"] == 0 and cb.stats()["lost"] == {}
    assert r.exists(keys().lost) == 0


def test_a_resend_of_an_entry_redis_already_has_is_not_duplicated(r: redis.Redis,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real_execute = redis.client.Pipeline.execute
    lost = []

    def execute_then_lose_reply(self: Any, raise_on_error: bool = True) -> Any:
        replies = real_execute(self, raise_on_error)
        if not lost:
            lost.append(True)
            raise redis.ConnectionError("connection reset after Redis executed the pipeline")
        return replies

    s = cb.series("once")
    monkeypatch.setattr(redis.client.Pipeline, "execute", execute_then_lose_reply)
    s.add(1.0, time=T0)
    s.add(2.0, time=T0 + 1)
    assert cb.flush(timeout=5)
    assert lost == [True]
    assert read_points(r, "once") == ([T0, T0 + 1], {"y": [1.0, 2.0]})
    assert r.xlen(keys().events) == 1 and r.xlen(keys().runlog) == 1


def test_a_stream_ahead_of_our_ids_still_gets_the_points(r: redis.Redis) -> None:
    r.xadd(keys().stream("ahead"), {"foreign": "1"}, id="99999999999999-0")
    s = cb.series("ahead")
    s.add(1.0, time=T0)
    assert cb.flush()
    s.add(2.0, time=T0 + 1)
    assert cb.flush()
    ids = [i for i, _ in r.xrange(keys().stream("ahead"))]
    assert len(ids) == 3 and ids[1:] == [b"99999999999999-1", b"99999999999999-2"]


def test_heartbeat_is_refreshed(r: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(producer_module, "_HEARTBEAT_S", 0.01)
    cb.series("hb").add(1.0)
    assert cb.flush()
    first = int(r.hget(keys().manifest, "heartbeat") or 0)
    deadline = time.monotonic() + 5
    while int(r.hget(keys().manifest, "heartbeat") or 0) == first and time.monotonic() < deadline:
        cb.flush()
    assert int(r.hget(keys().manifest, "heartbeat") or 0) > first


def test_several_threads_charting_at_once(r: redis.Redis) -> None:
    shared = cb.series("shared")
    n, per = 8, 5000

    @cb.chart(name="decorated")
    def decorated(x: float) -> float:
        return x

    def work(k: int) -> None:
        own = cb.series(f"own-{k}")
        for i in range(per):
            own.add(float(i), time=T0 + i)
            shared.add(float(k * per + i))
            if k == 0:
                decorated(float(i))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cb.flush()
    for k in range(n):
        assert read_points(r, f"own-{k}") == (list(range(T0, T0 + per)), {"y": [float(i) for i in range(per)]})
    times, cols = read_points(r, "shared")
    assert len(times) == n * per and all(a < b for a, b in zip(times, times[1:]))
    assert sorted(cols["y"]) == [float(i) for i in range(n * per)]
    assert read_points(r, "decorated")[1] == {"y": [float(i) for i in range(per)]}
    assert cb.stats()["dropped"] == 0 and cb.stats()["rejected"] == 0


def test_points_are_flushed_at_exit(redis_server: RedisServer, r: redis.Redis) -> None:
    script = textwrap.dedent(f"""
        import chartbridge as cb
        cb.configure(url={redis_server.url!r}, prefix="exit", run="exitrun", flush_interval=60.0)

        @cb.chart(kind="histogram")
        def value(i):
            return float(i)

        for i in range(1000):
            cb.set_clock({T0} + i)
            value(i)
        # no cb.flush(): interpreter exit must deliver the points and end the run
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    k = cb.protocol.Keys("exit", "exitrun")
    points: list[float] = []
    for _, fields in r.xrange(k.stream("value")):
        points += cb.protocol.decode(fields, "histogram").columns["y"]
    assert points == [float(i) for i in range(1000)]
    assert r.hget(k.manifest, "status") == b"ended"


def test_unreachable_at_start_never_raises(redis_server: RedisServer) -> None:
    dead = RedisServer(redis_server.directory)  # a free port nobody listens on
    cb.configure(url=dead.url, prefix="dead", run="deadrun", exit_timeout=0.1)
    s = cb.series("s")
    for i in range(100):
        s.add(float(i))
    assert not cb.flush(timeout=0.1)
    assert cb.stats()["backlog"] + len(s.buffer().t) == 100
    cb.configure(url=redis_server.url, exit_timeout=0.5)  # gives up on the dead URL within exit_timeout


def test_missing_redis_server_fails_with_one_clear_line(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RedisMissing) as caught:
        RedisServer(tmp_path).start()
    assert str(caught.value) == "redis-server not found: install it with 'sudo apt-get install -y redis-server'"


def test_an_idle_producer_sleeps_until_the_next_point_wakes_it(r: redis.Redis) -> None:
    """No wake-ups every interval while nothing is waiting (each takes the GIL from the strategy);
    the first point after the pause starts a cycle at once, from either append path. Points of
    now: a live run's (older ones are a replay, which its writers hand over)."""
    now = time.time_ns()
    s = cb.series("sparse")
    s.add(1.0, time=now)
    assert cb.flush()
    producer = cb.session.current().producer
    deadline = time.monotonic() + 2
    while not producer._idle and time.monotonic() < deadline:
        time.sleep(0.01)
    cycles = producer._started
    time.sleep(0.3)  # 60 intervals of 5 ms
    assert producer._started == cycles

    @cb.chart(name="sparse.fast")
    def value(x: float) -> float:
        return x

    cb.set_clock(now + 1)
    value(1.0)  # the first call registers the series (and wakes the thread for it)
    deadline = time.monotonic() + 1
    while not producer._idle and time.monotonic() < deadline:
        time.sleep(0.01)
    cb.set_clock(now + 2)
    value(2.0)  # the decorator's fast path
    s.add(3.0, time=now + 3)  # PointBuffer.append
    deadline = time.monotonic() + 1  # well under the 2 s an idle thread would otherwise sleep
    while (len(read_points(r, "sparse.fast")[0]), len(read_points(r, "sparse")[0])) != (2, 2):
        assert time.monotonic() < deadline, "the points waited for the idle thread's timeout"
        time.sleep(0.01)
    assert read_points(r, "sparse.fast") == ([now + 1, now + 2], {"y": [1.0, 2.0]})
