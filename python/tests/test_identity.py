"""A run's identity in its manifest (protocol/SPEC.md section 5): parameters, git state, versions."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import keys

import chartbridge as cb
from chartbridge.identity import git_state

T0 = 1_700_000_000_000_000_000


def identity(r: redis.Redis, run: str = "testrun") -> dict[str, Any]:
    return json.loads(r.hget(keys(run).manifest, "identity") or b"null")  # type: ignore[no-any-return]


def test_configured_params_and_versions_are_in_the_manifest_and_cb_run_params_win(r: redis.Redis) -> None:
    cb.configure(params={"fast": 10, "slow": 20, "note": "é"})
    cb.series("x").add(1.0, time=T0)
    with cb.run("sweep-1", params={"fast": 12}):
        cb.series("x").add(2.0, time=T0)
    cb.end_run()
    assert cb.flush(5)
    first, second = identity(r), identity(r, "sweep-1")
    assert first["params"] == {"fast": 10, "slow": 20, "note": "é"}
    assert second["params"] == {"fast": 12}
    assert first["data"] == [] and first["versions"]["python"] == platform.python_version()
    assert first["versions"]["chartbridge"] == "0.1.0"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def committed_strategy(repo: Path) -> tuple[Path, str]:
    """A repository with ``strategy.py`` committed: (its path, the commit)."""
    git(repo, "init", "-q")
    git(repo, "commit", "-q", "--allow-empty", "-m", "x")
    strategy = repo / "strategy.py"
    strategy.write_text("FAST = 10\n")
    git(repo, "add", "strategy.py")
    git(repo, "commit", "-q", "-m", "strategy")
    return strategy, git(repo, "rev-parse", "HEAD")


def test_git_state_is_the_commit_and_the_hash_of_the_uncommitted_diff(tmp_path: Path) -> None:
    strategy, commit = committed_strategy(tmp_path)
    assert git_state(str(strategy)) == {"root": str(tmp_path), "commit": commit, "dirty": False, "diff_hash": None}
    strategy.write_text("FAST = 12\n")
    diff = subprocess.run(["git", "-C", str(tmp_path), "diff", "HEAD", "--binary"], capture_output=True,
                          check=True).stdout
    assert b"+FAST = 12" in diff
    assert git_state(str(strategy)) == {"root": str(tmp_path), "commit": commit, "dirty": True,
                                        "diff_hash": hashlib.sha256(diff).hexdigest()}


def test_a_run_reads_git_without_a_thread_of_its_own(r: redis.Redis, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # A thread started alongside a backtest waits for the GIL the strategy holds, and woke at
    # each of its brief releases: ~6% of a 20k-bar backtest (identity.GitProbe).
    strategy, commit = committed_strategy(tmp_path)
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(strategy), raising=False)
    started: list[str] = []
    start = threading.Thread.start

    def recording(thread: threading.Thread) -> None:
        started.append(thread.name)
        start(thread)
    monkeypatch.setattr(threading.Thread, "start", recording)
    with cb.run("threads"):
        cb.series("x").add(1.0, time=T0)
    assert cb.flush(5)
    assert [name for name in started if name != "chartbridge-producer"] == []
    assert identity(r, "threads")["git"]["commit"] == commit


def test_outside_a_repository_git_is_null(tmp_path: Path) -> None:
    assert git_state(str(tmp_path / "script.py")) is None


def test_params_that_are_not_json_are_refused_at_configure_with_the_reason(r: redis.Redis) -> None:
    with pytest.raises(cb.ProtocolError, match="params is not JSON-serialisable") as err:
        cb.configure(params={"when": object()})
    assert err.value.code == "E_VALUE"
    with pytest.raises(cb.ProtocolError, match="over 65536") as err:
        cb.configure(params={"big": "x" * 70_000})
    assert err.value.code == "E_LIMIT"


def test_a_dirty_run_saves_its_uncommitted_diff_in_its_dirty_key_up_to_1_mib(
        r: redis.Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def git(*args: str) -> bytes:
        return subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                              check=True, capture_output=True).stdout
    git("init", "-q")
    strategy = tmp_path / "strategy.py"
    strategy.write_text("FAST = 10\n")
    git("add", "strategy.py")
    git("commit", "-q", "-m", "strategy")
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(strategy))
    # The git state is read alongside the run's start (identity.GitProbe), so the test waits for each
    # run's manifest before it edits the file.
    with cb.run("clean"):
        pass
    assert cb.flush(5)
    strategy.write_text("FAST = 12\n")
    with cb.run("dirty"):
        pass
    assert cb.flush(5)
    strategy.write_text("".join(f"LINE_{i} = {'x' * 100}\n" for i in range(12_000)))
    with cb.run("huge"):
        pass
    assert cb.flush(5)
    assert r.get(keys("clean").dirty) is None and identity(r, "clean")["git"]["dirty"] is False
    saved = r.get(keys("dirty").dirty)
    assert saved is not None and b"+FAST = 12" in saved
    assert hashlib.sha256(saved).hexdigest() == identity(r, "dirty")["git"]["diff_hash"]
    # Over 1 MiB: only the hash says what changed.
    assert r.get(keys("huge").dirty) is None
    assert identity(r, "huge")["git"]["dirty"] is True and identity(r, "huge")["git"]["diff_hash"] is not None
