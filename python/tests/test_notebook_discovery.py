"""cb.show finds the VS Code extension's server by its discovery record: records written by the
extension's own module (src/extension/serverRecord.ts, run with node) for a real dist/server.js
started by the test, against the private Redis of conftest.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import chartbridge as cb
from chartbridge import notebook

ROOT = Path(__file__).resolve().parents[2]
WRITER = ROOT / "src" / "extension" / "serverRecord.ts"
# The extension's writer, as the extension runs it (CommonJS under tsx: the exports are under default).
WRITE = ("const m = await import(process.argv[1]); const { writeRecord } = m.default ?? m;"
         "process.stdout.write(writeRecord(process.argv[2], JSON.parse(process.argv[3])))")


def write_record(directory: Path, **record: Any) -> Path:
    done = subprocess.run(["node", "--import", "tsx", "--input-type=module", "-e", WRITE, str(WRITER), str(directory),
                           json.dumps({"version": 1, **record})], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return Path(done.stdout)


def with_password(url: str) -> str:
    """The same Redis named with a user and password, as the extension's setting may name it."""
    return url.replace("redis://", "redis://alice:s3cret@")


@pytest.fixture
def records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "runtime" / "chartbridge"
    monkeypatch.setenv("CHARTBRIDGE_RUNTIME_DIR", str(directory))
    monkeypatch.delenv(notebook.SERVER_ENV, raising=False)
    monkeypatch.setattr(notebook, "_server", None)
    return directory


@pytest.fixture
def extension_server(r: redis.Redis) -> Iterator[notebook.ChartServer]:
    """A real server standing in for the one the extension supervises (started here, not by the SDK's lookup)."""
    server = notebook.start_server()
    yield server
    server.stop()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_show_uses_the_extensions_server_from_its_record(r: redis.Redis, records: Path, redis_server: Any,
                                                         extension_server: notebook.ChartServer) -> None:
    assert extension_server.proc is not None
    prefix = cb.session.current().settings.prefix
    file = write_record(records, url=extension_server.url, token=extension_server.token, pid=extension_server.proc.pid,
                        redis=with_password(redis_server.url), prefix=prefix, workspaceFolders=[str(ROOT)])
    assert "s3cret" not in file.read_text() and oct(file.stat().st_mode & 0o777) == "0o600"
    found = notebook.server()
    assert (found.url, found.token, found.proc) == (extension_server.url, extension_server.token, None)
    assert notebook._server is None, "no server of its own was started"
    # The token from the record opens the server's GraphQL API.
    req = urllib.request.Request(f"{found.url}/graphql", data=json.dumps({"query": "{ runs { id } }"}).encode(),
                                 headers={"content-type": "application/json", "authorization": f"Bearer {found.token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.loads(resp.read())["data"] == {"runs": []}


def test_a_record_of_a_dead_server_is_ignored_and_removed(r: redis.Redis, records: Path, redis_server: Any) -> None:
    file = write_record(records, url="http://127.0.0.1:9", token="a" * 64, pid=dead_pid(), redis=redis_server.url,
                        prefix=cb.session.current().settings.prefix, workspaceFolders=[])
    assert notebook.discover_server() is None
    assert not file.exists()


def test_a_record_of_another_redis_or_prefix_is_ignored_and_kept(r: redis.Redis, records: Path, redis_server: Any) -> None:
    prefix = cb.session.current().settings.prefix
    assert redis_server.url.endswith("/0")
    for other in (redis_server.url.removesuffix("/0") + "/3", f"redis://127.0.0.1:{redis_server.port + 1}/0"):
        other_redis = write_record(records, url="http://127.0.0.1:9", token="a" * 64, pid=os.getpid(),
                                   redis=other, prefix=prefix, workspaceFolders=[])
        assert notebook.discover_server() is None, other
        other_redis.unlink()
    same = write_record(records, url="http://127.0.0.1:9", token="a" * 64, pid=os.getpid(),
                        redis=redis_server.url.removesuffix("/0"), prefix=prefix, workspaceFolders=[])
    assert notebook.discover_server() is not None, "no /db is db 0"
    same.unlink()
    other_prefix = write_record(records, url="http://127.0.0.1:9", token="a" * 64, pid=os.getpid(),
                                redis=redis_server.url, prefix=prefix + "-other", workspaceFolders=[])
    assert notebook.discover_server() is None
    assert other_prefix.exists(), "the server lives: its record stays for kernels configured for it"


def test_the_server_whose_workspace_holds_the_notebook_wins(r: redis.Redis, records: Path, redis_server: Any,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = cb.session.current().settings.prefix
    (tmp_path / "proj" / "notebooks").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "proj" / "notebooks")
    # Two live processes (this one and its parent) stand for two VS Code windows' servers.
    write_record(records, url="http://127.0.0.1:8", token="b" * 64, pid=os.getpid(), redis=redis_server.url,
                 prefix=prefix, workspaceFolders=[str(tmp_path / "elsewhere")])
    write_record(records, url="http://127.0.0.1:7", token="c" * 64, pid=os.getppid(), redis=redis_server.url,
                 prefix=prefix, workspaceFolders=[str(tmp_path / "proj")])
    found = notebook.discover_server()
    assert found is not None and (found.url, found.token) == ("http://127.0.0.1:7", "c" * 64)


def test_a_record_others_can_read_is_not_trusted(r: redis.Redis, records: Path, redis_server: Any) -> None:
    file = write_record(records, url="http://127.0.0.1:9", token="a" * 64, pid=os.getpid(), redis=redis_server.url,
                        prefix=cb.session.current().settings.prefix, workspaceFolders=[])
    assert notebook.discover_server() is not None
    file.chmod(0o644)
    assert notebook.discover_server() is None
