"""A private redis-server for tests and benchmarks: a free port on 127.0.0.1, no persistence.

Never touches port 6379 or a Redis someone else runs; ``kill``/``start`` on the same port
simulate an outage.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

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

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RedisMissing(MISSING)
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
        """Stop the server at once (SIGKILL), after saving its data if ``keep_data``."""
        assert self.proc is not None
        if keep_data:
            client = redis.Redis.from_url(self.url)
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
