"""The SDK on a real Redis Cluster (3 masters, 3 replicas) through ``redis+cluster://``: runs whose
hash tags land on every master are written whole, each on its slot's node."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest
from redis.cluster import RedisCluster

import chartbridge as cb
from chartbridge import protocol
from chartbridge.producer import cluster_nodes, connect
from chartbridge.session import Settings
from chartbridge.testing import RedisClusterServers

T0 = 1_700_000_000_000_000_000


@pytest.fixture
def rc(redis_cluster: RedisClusterServers) -> Iterator[RedisCluster]:
    client = redis_cluster.admin()
    yield client
    cb.configure(exit_timeout=0.5)
    cb.configure(**dataclasses.asdict(Settings()))
    client.close()


def test_runs_on_every_master_are_written_whole(redis_cluster: RedisClusterServers, rc: RedisCluster) -> None:
    runs = [f"sweep-{i}" for i in range(6)]
    owners = {rc.get_node_from_key(f"{{{run}}}").name for run in runs}
    assert len(owners) == 3, "the runs cover all three masters"
    for i, run in enumerate(runs):
        cb.configure(url=redis_cluster.url, prefix="pc", run=run, strategy="sweep", enabled=True, exit_timeout=2.0)
        times = [T0 + j * 1_000 for j in range(500 + i)]
        cb.publish_points("price", times, [j * 0.25 + i for j in range(500 + i)], kind="line")
        cb.end_run()
        assert cb.flush(10.0)
    assert sorted(m.decode() for m in rc.zrange("pc:runs", 0, -1)) == runs
    for i, run in enumerate(runs):
        k = protocol.Keys("pc", run)
        assert rc.hget(k.manifest, "status") == b"ended"
        assert json.loads(rc.hget(k.series, "price") or b"{}")["kind"] == "line"
        t: list[int] = []
        y: list[float] = []
        for _, fields in rc.xrange(k.stream("price")):
            entry = protocol.decode(fields, "line")
            t += entry.t
            y += entry.columns["y"]
        assert t == [T0 + j * 1_000 for j in range(500 + i)]
        assert y == [j * 0.25 + i for j in range(500 + i)]


def test_cluster_urls_parse_and_bad_ones_say_what_is_wrong() -> None:
    nodes, user, password = cluster_nodes("redis+cluster://cb:p%40ss@10.0.0.1:7000,[::1]") or ([], None, None)
    assert [(n.host, n.port) for n in nodes] == [("10.0.0.1", 7000), ("::1", 6379)]
    assert (user, password) == ("cb", "p@ss")
    assert cluster_nodes("redis://127.0.0.1:6379/0") is None
    with pytest.raises(ValueError, match=r'^redis\+cluster://\*\*\*@h:7000/2: a Redis Cluster has database 0 only; remove \'/2\'$'):
        cluster_nodes("redis+cluster://u:hunter2@h:7000/2")
    with pytest.raises(ValueError, match=r"^redis\+cluster://h:7000,,h:1: '' is not a cluster node"):
        connect("redis+cluster://h:7000,,h:1")
