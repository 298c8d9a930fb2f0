"""What identifies a run, so two runs can be compared (protocol/SPEC.md section 5, ``identity``):
the strategy's parameters, the workspace's git state, the data it ran on, the library versions."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from importlib import metadata
from typing import Any

GIT_TIMEOUT = 5.0  # s: a hung git (a network filesystem) must not hold the strategy's start up


def _git(directory: str, *args: str) -> bytes:
    return subprocess.run(["git", "-C", directory, *args], capture_output=True, timeout=GIT_TIMEOUT,
                          check=True).stdout


MAX_DIRTY_DIFF_BYTES = 1 << 20  # the run's `dirty` key (SPEC section 2): a larger diff keeps only its hash


def git_snapshot(source: str) -> tuple[dict[str, Any] | None, bytes]:
    """The git state (see ``git_state``) and the uncommitted diff itself (empty when clean)."""
    directory = os.path.dirname(source) if source else os.getcwd()
    try:
        root = _git(directory, "rev-parse", "--show-toplevel").decode().strip()
        commit = _git(directory, "rev-parse", "HEAD").decode().strip()
        diff = _git(directory, "diff", "HEAD", "--binary")
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        return None, b""
    return {"root": root, "commit": commit, "dirty": bool(diff),
            "diff_hash": hashlib.sha256(diff).hexdigest() if diff else None}, diff


def git_state(source: str) -> dict[str, Any] | None:
    """The commit of the repository holding ``source`` (else the working directory), whether its
    tracked files differ from it, and the SHA-256 of that difference (``git diff HEAD --binary``);
    None outside a repository or without git."""
    return git_snapshot(source)[0]


def versions() -> dict[str, str]:
    """Versions of Python, Chartbridge and the trading libraries loaded in this process."""
    out = {"python": platform.python_version()}
    for name in ("chartbridge", "nautilus_trader", "redis"):
        if name == "chartbridge" or name in sys.modules:
            try:
                out[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
    return out


def new_identity(source: str, params: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
    """A run's identity at its start, and the dirty diff to save in its ``dirty`` key (None when
    clean or over MAX_DIRTY_DIFF_BYTES); ``data`` is filled by whoever knows the bars (the Nautilus actor)."""
    git, diff = git_snapshot(source)
    saved = diff if 0 < len(diff) <= MAX_DIRTY_DIFF_BYTES else None
    return {"params": params, "git": git, "data": [], "versions": versions()}, saved


def data_identity(instrument: str, bar_type: str, times: tuple[int, int] | None, count: int) -> dict[str, Any]:
    """One entry of ``identity.data``: a bar type's first and last bar time (ns, as decimal strings,
    as trades' times) and its bar count."""
    first, last = (str(times[0]), str(times[1])) if times is not None else (None, None)
    return {"instrument": instrument, "bar_type": bar_type, "first": first, "last": last, "count": count}
