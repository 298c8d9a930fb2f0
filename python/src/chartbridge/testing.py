"""A private redis-server for tests and benchmarks: a free port on 127.0.0.1, no persistence.

Never touches port 6379 or a Redis someone else runs; ``kill``/``start`` on the same port
simulate an outage. With ``tls_dir`` (the files test/harness/tls-certs.sh makes) it serves TLS
only (``--port 0 --tls-port``), and with ``password`` its ``default`` user needs one, so ACL
users can be tested.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import redis

MISSING = "redis-server not found: install it with 'sudo apt-get install -y redis-server'"


class RedisMissing(RuntimeError):
    """redis-server is not on PATH."""


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
             *(["--requirepass", self.password] if self.password else [])],
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
