"""cb.load_run against the real server's GraphQL history, and cb.show's output (a real server
started from dist/server.js, the private Redis of conftest.py)."""

from __future__ import annotations

import base64
import json
import math
import os
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import redis

import chartbridge as cb
from chartbridge import notebook

T0 = 1_700_000_000_123_456_789
MIN = 60_000_000_000


def graphql(server: notebook.ChartServer, query: str) -> Any:
    """One GraphQL query over HTTP, as any client sends it (the token as a Bearer header)."""
    req = urllib.request.Request(f"{server.url}/graphql", data=json.dumps({"query": query}).encode(),
                                 headers={"content-type": "application/json", "authorization": f"Bearer {server.token}"})
    with urllib.request.urlopen(req, timeout=30) as reply:
        body = json.loads(reply.read())
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture
def chart_server(r: redis.Redis) -> Iterator[notebook.ChartServer]:
    server = notebook.start_server()
    yield server
    server.stop()


def record_run() -> None:
    """A run with every kind of column: candles with volume, a line with a replaced point and
    NaN-free values, markers with and without a price, a plugin, a publish and results."""
    closes = [100.0 + i + (0.75 if i % 3 else -0.5) for i in range(30)]  # two rising candles, then a falling one
    candles = [(100.0 + i, max(100.0 + i, c) + 1.0, min(100.0 + i, c) - 0.75, c, 10.0 * i) for i, c in enumerate(closes)]
    cb.publish_points("bars", [T0 + i * MIN for i in range(30)], candles, kind="candlestick")
    cb.publish_points("ema", [T0 + i * MIN for i in range(10)], [0.1 * i for i in range(10)], color="#ff9800")
    # Same time as the last point: it replaces it (SPEC section 3); then more after it.
    cb.publish_points("ema", [T0 + 9 * MIN, T0 + 10 * MIN], [-3.25, 7.0])
    cb.publish_points("equity", [T0, T0 + MIN], [1e6, 1_000_123.5], pane="equity")
    cb.publish_points("fills", [T0 + 2 * MIN, T0 + 5 * MIN],
                      [(100.5, {"side": "buy", "text": "BUY 1 @ 100.5", "shape": "arrowUp"}),
                       (None, {"side": "sell", "text": "SELL 1 ünïcode", "color": "#FF0000", "position": "aboveBar"})],
                      kind="marker", target="bars")
    cb.publish("signal", {"x": [1, 2]})
    cb.results({"PnL": 12.5, "Trades": 1, "Sharpe": float("nan")},
               [{"entry_t": T0 + 2 * MIN, "exit_t": T0 + 5 * MIN, "side": "buy", "entry_price": 100.5,
                 "exit_price": 104.0, "pnl": 3.5}])
    assert cb.flush(10)


def as_history(frames: notebook.RunFrames, sid: str) -> dict[str, Any]:
    """A frame in the JSON form the server sends (SPEC section 4): microsecond times."""
    df = frames.series[sid]
    out: dict[str, Any] = {"t": [ns // 1000 for ns in df.index.asi8.tolist()]}
    kind = frames.info[sid]["kind"]
    if kind == "candlestick":
        for short, col in (("o", "open"), ("h", "high"), ("l", "low"), ("c", "close"), ("vol", "volume")):
            if col in df:
                out[short] = df[col].tolist()
    elif kind == "marker":
        out["y"] = [None if math.isnan(y) else y for y in df["price"]]
        out["m"] = [{k: v for k, v in row.items() if v is not None}
                    for row in df[list(notebook.MARKER_FIELDS)].to_dict("records")]
    else:
        out["y"] = df["value"].tolist()
    return out


def test_load_run_equals_the_servers_history(r: redis.Redis, chart_server: notebook.ChartServer) -> None:
    record_run()
    frames = cb.load_run()
    assert frames.id == "testrun"
    assert sorted(frames.series) == ["bars", "ema", "equity", "fills"]
    for sid in frames.series:
        h = graphql(chart_server, f'{{ history(run: "testrun", series: "{sid}") {{ count points }} }}')["history"]
        assert as_history(frames, sid) == h["points"], sid
        assert len(frames.series[sid]) == h["count"]
    run = graphql(chart_server, '{ run(id: "testrun") { results series { id kind count rejected stale } } }')["run"]
    assert frames.results == run["results"]
    assert [(s["id"], s["kind"], s["count"], s["rejected"], s["stale"]) for s in run["series"]] == [
        (sid, frames.info[sid]["kind"], len(frames.series[sid]), frames.rejected[sid], frames.stale[sid])
        for sid in sorted(frames.series)]


def test_load_run_frames_have_utc_times_and_named_columns(r: redis.Redis) -> None:
    record_run()
    frames = cb.load_run("testrun")
    bars = frames.series["bars"]
    assert isinstance(bars.index, pd.DatetimeIndex) and str(bars.index.tz) == "UTC"
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert bars.index[0] == pd.Timestamp(T0, unit="ns", tz="UTC")
    assert bars.iloc[3].tolist() == [103.0, 104.0, 101.75, 102.5, 30.0]
    ema = frames.series["ema"]
    assert list(ema.columns) == ["value"]
    assert ema["value"].tolist() == [0.0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.6000000000000001,
                                     0.7000000000000001, 0.8, -3.25, 7.0]
    fills = frames.markers
    assert list(fills.columns) == ["price", "side", "text", "shape", "position", "color", "series"]
    assert fills["text"].tolist() == ["BUY 1 @ 100.5", "SELL 1 ünïcode"]
    assert math.isnan(fills["price"].iloc[1]) and fills["price"].iloc[0] == 100.5
    assert frames.events["type"].tolist() == ["series", "series", "series", "series", "publish", "results"]
    assert frames.events["data"].iloc[4] == {"topic": "signal", "payload": {"x": [1, 2]}}
    assert frames.stats.to_dict() == {"PnL": 12.5, "Trades": 1, "Sharpe": "nan"}
    assert frames.trades["exit_t"].tolist() == [pd.Timestamp(T0 + 5 * MIN, unit="ns", tz="UTC")]
    assert frames.manifest["status"] == "running" and frames.manifest["strategy"] == "tests"


def test_load_run_counts_a_rejected_entry_and_keeps_the_rest(r: redis.Redis) -> None:
    cb.publish_points("x", [T0, T0 + MIN], [1.0, 2.0])
    keys = notebook.Keys(cb.session.current().settings.prefix, "testrun")
    r.xadd(keys.stream("x"), {"v": "1", "k": "line", "n": "2", "t": b"\x00" * 8, "y": b"\x00" * 16})  # E_LENGTH
    cb.publish_points("x", [T0 + 2 * MIN], [3.0])
    frames = cb.load_run()
    assert frames.series["x"]["value"].tolist() == [1.0, 2.0, 3.0]
    assert frames.rejected["x"] == 1


def test_load_run_names_a_missing_run(r: redis.Redis) -> None:
    with pytest.raises(LookupError, match="run 'nope' is not in Redis under prefix"):
        cb.load_run("nope")


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and RGB rows of a PNG that ``notebook.png`` wrote (filter 0 rows)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat = data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8]
    raw = zlib.decompress(idat)
    stride = 3 * width + 1
    return width, height, b"".join(raw[i * stride + 1:(i + 1) * stride] for i in range(height))


def test_show_output_has_the_widget_and_a_picture_but_no_token(r: redis.Redis, chart_server: notebook.ChartServer,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    record_run()
    monkeypatch.setenv(notebook.SERVER_ENV, f"{chart_server.url}/?token={chart_server.token}")
    monkeypatch.setattr(notebook, "_server", None)
    frames = cb.load_run()
    widget = notebook.ChartWidget(frames.id, 300, notebook.server(), notebook.render_png(frames))
    bundle, _ = widget._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "application/vnd.jupyter.widget-view+json", "image/png"}
    assert chart_server.token not in json.dumps(bundle) and chart_server.token not in json.dumps(widget.get_state())
    width, height, pixels = png_pixels(base64.b64decode(bundle["image/png"]))
    assert (width, height) == (800, 400)
    colors = {pixels[i:i + 3] for i in range(0, len(pixels), 3)}
    # Rising candles in the chart's up color, the EMA line in its own color; the equity pane is not drawn.
    assert bytes(notebook._UP) in colors and bytes(notebook._DOWN) in colors and bytes((0xff, 0x98, 0x00)) in colors
    # The page the frontend is sent (over the comm only) is the server's chart page of the run.
    sent: list[Any] = []
    monkeypatch.setattr(widget, "send", sent.append)
    widget._on_frontend(widget, {"type": "page"}, [])
    assert sent == [{"type": "page", "url": f"{chart_server.url}/?run=testrun&token={chart_server.token}"}]
    with urllib.request.urlopen(sent[0]["url"], timeout=30) as page:
        assert b"webview.js" in page.read()


def test_a_server_the_kernel_started_stops_when_the_kernel_is_killed(redis_server: Any) -> None:
    """SIGKILL gives the kernel no atexit; the server must not outlive it."""
    script = ("import os, sys\nimport chartbridge as cb\nfrom chartbridge import notebook\n"
              "cb.configure(url=sys.argv[1], prefix='killed')\nprint(notebook.start_server().proc.pid, flush=True)\n"
              "os.kill(os.getpid(), 9)\n")
    done = subprocess.run([sys.executable, "-c", script, redis_server.url], capture_output=True, text=True, timeout=60)
    assert done.returncode == -9
    pid = int(done.stdout)
    stat = Path(f"/proc/{pid}/stat")
    for _ in range(300):  # until it is gone or a zombie: it exits on the signal, whenever that arrives
        if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        pytest.fail(f"the server {pid} outlived its killed kernel")
