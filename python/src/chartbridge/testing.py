"""A private redis-server for tests and benchmarks: a free port on 127.0.0.1, no persistence.

Never touches port 6379 or a Redis someone else runs; ``kill``/``start`` on the same port
simulate an outage. With ``tls_dir`` (the files test/harness/tls-certs.sh makes) it serves TLS
only (``--port 0 --tls-port``), and with ``password`` its ``default`` user needs one, so ACL
users can be tested.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import redis
from redis.cluster import ClusterNode, RedisCluster

MISSING = "redis-server not found: install it with 'sudo apt-get install -y redis-server'"


class RedisMissing(RuntimeError):
    """redis-server is not on PATH."""


def cluster_port(taken: set[int]) -> int:
    """A free port whose cluster bus port (10000 higher, so at most 55535) is free too."""
    while True:
        port = random.randint(20000, 55000)
        if port in taken or port + 10000 in taken:
            continue
        try:
            for p in (port, port + 10000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        taken.update((port, port + 10000))
        return port


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class RedisServer:
    """A private redis-server that can be killed and started again on the same port.

    Data lives in ``directory``; ``kill(keep_data=True)`` SAVEs there first so the next
    ``start`` reloads it (as a persistent production Redis would).
    """

    directory: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None
    tls_dir: Path | None = None
    tls_auth_clients: Literal["optional", "yes"] = "optional"
    password: str | None = None  # of the ``default`` user (the admin's), None: no password
    args: list[str] = field(default_factory=list)  # more redis-server arguments (a cluster node's)

    @property
    def url(self) -> str:
        """The URL without credentials (a user's go in front of the host)."""
        return f"{'rediss' if self.tls_dir else 'redis'}://127.0.0.1:{self.port}/0"

    def url_for(self, user: str, password: str) -> str:
        return f"{'rediss' if self.tls_dir else 'redis'}://{user}:{password}@127.0.0.1:{self.port}/0"

    def admin(self) -> redis.Redis:
        """A client as the ``default`` user (every right), trusting the test CA, with its client certificate."""
        d = self.tls_dir
        tls = {"ssl_ca_certs": str(d / "ca.crt"), "ssl_certfile": str(d / "client.crt"),
               "ssl_keyfile": str(d / "client.key")} if d else {}
        return redis.Redis.from_url(self.url, password=self.password, **tls)

    def _args(self) -> list[str]:
        if self.tls_dir is None:
            return ["--port", str(self.port)]
        d = self.tls_dir
        return ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(d / "server.crt"),
                "--tls-key-file", str(d / "server.key"), "--tls-ca-cert-file", str(d / "ca.crt"),
                "--tls-auth-clients", self.tls_auth_clients]

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RedisMissing(MISSING)
        self.proc = subprocess.Popen(
            [exe, *self._args(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--loglevel", "notice",
             *(["--requirepass", self.password] if self.password else []), *self.args],
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
        """Stop the server at once (SIGKILL), after saving its data if ``keep_data``."""
        assert self.proc is not None
        if keep_data:
            client = self.admin()
            client.save()
            client.close()
        else:
            (self.directory / "dump.rdb").unlink(missing_ok=True)
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        """Kill the server if it runs (end of a session)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@dataclass
class RedisClusterServers:
    """A real Redis Cluster of private redis-servers on free loopback ports: ``masters`` masters
    with one replica each, joined by ``redis-cli --cluster create --cluster-replicas 1``."""

    directory: Path
    masters: int = 3
    nodes: list[RedisServer] = field(default_factory=list)

    @property
    def url(self) -> str:
        """``redis+cluster://`` with every node as a seed (protocol/SPEC.md section 9)."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def admin(self) -> RedisCluster:
        return RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", self.nodes[0].port)])  # type: ignore[no-untyped-call]

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()  # no node outlives a start that failed half way
            raise

    def _start(self) -> None:
        cli = shutil.which("redis-cli")
        if cli is None:
            raise RedisMissing(MISSING)
        taken: set[int] = set()
        for i in range(self.masters * 2):
            node_dir = self.directory / f"node{i}"
            node_dir.mkdir()
            node = RedisServer(node_dir, port=cluster_port(taken), args=["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                               "--cluster-node-timeout", "1000"])
            node.start()
            self.nodes.append(node)
        subprocess.run([cli, "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes),
                        "--cluster-replicas", "1", "--cluster-yes"], check=True, capture_output=True)
        # The cluster settles on its own (gossip): wait for that state, not for a guessed delay.
        for _ in range(600):
            if all(self._ok(n) for n in self.nodes):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")

    @staticmethod
    def _ok(node: RedisServer) -> bool:
        client = redis.Redis(port=node.port)
        try:
            info = client.execute_command("CLUSTER", "INFO")  # type: ignore[no-untyped-call]
            text = info.decode() if isinstance(info, bytes) else str(info)
            return "cluster_state:ok" in text
        finally:
            client.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
