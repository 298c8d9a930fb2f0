"""What identifies a run, so two runs can be compared (protocol/SPEC.md section 5, ``identity``):
the strategy's parameters, the workspace's git state, the data it ran on, the library versions."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import subprocess
import sys
import threading
from importlib import metadata
from typing import Any

GIT_TIMEOUT = 5.0  # s: a hung git (a network filesystem) must not hold the run's manifest up
MAX_DIRTY_DIFF_BYTES = 1 << 20  # the run's `dirty` key (SPEC section 2): a larger diff keeps only its hash


class GitProbe:
    """The git state of ``source`` (``git_state``) and the uncommitted diff, started now and read later. A run starts it when it starts, and the
    producer reads it when it sends the run's manifest, so the strategy never waits for git (two
    processes, about 60 ms here and 0.5 s on a loaded machine: a third of a 20k-bar backtest)."""

    def __init__(self, source: str) -> None:
        directory = os.path.dirname(source) if source else os.getcwd()
        self._result: tuple[dict[str, Any] | None, bytes] | None = None
        self._lock = threading.Lock()
        # Started on the calling thread (~1.5 ms for both, measured inside a backtest's process).
        # Not on a thread of its own: each of Popen's system calls gives the GIL up, and taking it
        # back from a backtest that holds it, the thread woke at each of the strategy's brief
        # releases of the GIL (thousands, over 0.4 s) and cost the 20k-bar `short` shape of the
        # overhead matrix ~6% of its time (python/bench/nautilus_overhead.py).
        try:
            self._procs = [subprocess.Popen(["git", "-C", directory, *args], stdout=subprocess.PIPE,
                                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
                           for args in (("rev-parse", "--show-toplevel", "HEAD"), ("diff", "HEAD", "--binary"))]
        except OSError:
            self._procs = []

    def result(self) -> tuple[dict[str, Any] | None, bytes]:
        """The git state (see ``git_state``) and the uncommitted diff itself (empty when clean)."""
        with self._lock:
            if self._result is None:
                self._result = self._read()
            return self._result

    def _read(self) -> tuple[dict[str, Any] | None, bytes]:
        outputs = []
        for proc in self._procs:
            try:
                out = proc.communicate(timeout=GIT_TIMEOUT)[0]
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                out = b""
            outputs.append(out if proc.returncode == 0 else None)
        if len(outputs) != 2 or outputs[0] is None or outputs[1] is None:
            return None, b""
        try:
            root, commit = outputs[0].decode().splitlines()
        except (UnicodeDecodeError, ValueError):
            return None, b""
        diff = outputs[1]
        return {"root": root, "commit": commit, "dirty": bool(diff),
                "diff_hash": hashlib.sha256(diff).hexdigest() if diff else None}, diff


def git_state(source: str) -> dict[str, Any] | None:
    """The commit of the repository holding ``source`` (else the working directory), whether its
    tracked files differ from it, and the SHA-256 of that difference (``git diff HEAD --binary``);
    None outside a repository or without git."""
    return GitProbe(source).result()[0]


@functools.cache
def _distribution_version(name: str) -> str:
    return metadata.version(name)


def versions() -> dict[str, str]:
    """Versions of Python, Chartbridge and the trading libraries loaded in this process: a loaded
    module's ``__version__``, else its distribution's (looked up once: the first lookup scans the
    installed packages: up to 50 ms on a loaded machine)."""
    out = {"python": platform.python_version()}
    for name in ("chartbridge", "nautilus_trader", "redis"):
        module = sys.modules.get(name)
        if name != "chartbridge" and module is None:
            continue
        version = getattr(module, "__version__", None)
        if not isinstance(version, str):
            try:
                version = _distribution_version(name)
            except metadata.PackageNotFoundError:
                continue
        out[name] = version
    return out


def new_identity(params: dict[str, Any]) -> dict[str, Any]:
    """A run's identity at its start; ``git`` (the run's ``GitProbe``) and ``versions`` are filled in
    on the producer's side when it is sent, ``data`` by whoever knows the bars (the Nautilus actor)."""
    return {"params": params, "git": None, "data": [], "versions": {}}


def dirty_diff(diff: bytes) -> bytes | None:
    """The diff to save in the run's ``dirty`` key: None when clean or over MAX_DIRTY_DIFF_BYTES."""
    return diff if 0 < len(diff) <= MAX_DIRTY_DIFF_BYTES else None


def data_identity(instrument: str, bar_type: str, times: tuple[int, int] | None, count: int) -> dict[str, Any]:
    """One entry of ``identity.data``: a bar type's first and last bar time (ns, as decimal strings,
    as trades' times) and its bar count."""
    first, last = (str(times[0]), str(times[1])) if times is not None else (None, None)
    return {"instrument": instrument, "bar_type": bar_type, "first": first, "last": last, "count": count}
