"""What a "Break Here on Next Run" breakpoint costs while its condition is false, under the real debugpy.

    .venv/bin/python python/bench/debug_condition.py [--bars 50000] [--rounds 3]

The EMA-cross example (charted, into a private redis-server) in a fresh process per run, timed
around ``engine.run()`` and the flush: under debugpy (attached by a DAP client here, no breakpoint)
as the baseline, then with the breakpoint the chart sets (``cb.at(t)`` on the first body line of
the charted ``ema_gap``, called once a bar) for a time no bar has, so it never stops. The time is
the process's CPU time (all its threads, debugpy's included). Also: a
breakpoint whose condition is the literal ``False``, which is what debugpy itself costs per
evaluation, and the run without a debugger. A round runs the four back to back; figures are the
medians of the rounds' ratios.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "nautilus-ema-cross"
PERIODS = (100, 400)
NEVER = 1_000_000_000  # 1970-01-01 00:00:01: no bar is there, so the condition is always false
MODES = ("plain", "debugpy", "cb.at", "False")


def child(bars: int) -> None:
    """One timed backtest in this process; prints its figures as JSON."""
    sys.path.insert(0, str(EXAMPLE))
    import chartbridge as cb
    from ema_cross import build_engine

    engine, _ = build_engine(bars, periods=PERIODS)
    started, cpu = time.perf_counter(), time.process_time()
    engine.run()
    delivered = cb.flush(120.0)
    print(json.dumps({"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu, "delivered": delivered}))


def first_body_line() -> tuple[str, int]:
    """Where the extension puts the breakpoint: ``ema_gap``'s first statement after its docstring."""
    sys.path.insert(0, str(EXAMPLE))
    import ema_cross

    func = ema_cross.EMACross.ema_gap.__wrapped__
    source, start = inspect.getsourcelines(func)
    body = [i for i, text in enumerate(source) if text.strip() and not text.strip().startswith(("@", "def ", '"""'))]
    return str(EXAMPLE / "ema_cross.py"), start + body[0]


class Dap:
    """A minimal Debug Adapter Protocol client (what VS Code speaks to debugpy)."""

    def __init__(self, port: int) -> None:
        for _ in range(200):
            try:
                self.sock = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"debugpy did not listen on port {port}")
        self.seq = 0
        self.messages: list[dict[str, Any]] = []
        self.arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        data = b""
        while True:
            while b"\r\n\r\n" not in data:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, data = data.partition(b"\r\n\r\n")
            length = int(head.split(b"Content-Length:")[1].split(b"\r\n")[0])
            while len(data) < length:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                data += chunk
            with self.arrived:
                self.messages.append(json.loads(data[:length]))
                self.arrived.notify_all()
            data = data[length:]

    def send(self, command: str, **arguments: Any) -> int:
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command, "arguments": arguments}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def wait(self, match: Any, timeout: float = 60.0) -> dict[str, Any]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: any(match(m) for m in self.messages), timeout):
                raise RuntimeError("debugpy did not answer")
            return next(m for m in self.messages if match(m))


def measure(bars: int, mode: str, url: str, where: tuple[str, int]) -> float:
    env = {**os.environ, "CHARTBRIDGE_REDIS_URL": url}
    args = [__file__, "--child", "--bars", str(bars)]
    if mode == "plain":
        out = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, check=True).stdout
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen([sys.executable, "-m", "debugpy", "--listen", f"127.0.0.1:{port}", "--wait-for-client", *args],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        dap = Dap(port)
        dap.send("initialize", adapterID="python", clientID="chartbridge-bench", linesStartAt1=True, pathFormat="path")
        dap.send("attach", justMyCode=False)
        dap.wait(lambda m: m.get("event") == "initialized")
        if mode != "debugpy":
            condition = f"cb.at({NEVER})" if mode == "cb.at" else "False"
            seq = dap.send("setBreakpoints", source={"path": where[0]}, breakpoints=[{"line": where[1], "condition": condition}])
            reply = dap.wait(lambda m: m.get("request_seq") == seq)
            if not reply["body"]["breakpoints"][0].get("verified"):
                raise RuntimeError(f"debugpy did not set the breakpoint: {reply}")
        dap.send("configurationDone")
        # debugpy keeps the process until its client lets go of it.
        dap.wait(lambda m: m.get("event") in ("exited", "terminated"), timeout=3600)
        dap.send("disconnect")
        out, _ = proc.communicate(timeout=60)
        if any(m.get("event") == "stopped" for m in dap.messages):
            raise RuntimeError("the false condition stopped the run")
        dap.sock.close()
    # CPU time of the process (every thread, debugpy's too): on a shared machine the wall time of
    # one run varied fivefold between rounds here, its CPU time far less.
    cpu: float = json.loads(out.strip().splitlines()[-1])["cpu"]
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.bars)
        return

    sys.path.insert(0, str(REPO / "python" / "src"))
    from chartbridge.testing import RedisServer

    where = first_body_line()
    server = RedisServer(Path(tempfile.mkdtemp(prefix="cb-bench-")))
    server.start()
    try:
        rounds = [{mode: measure(args.bars, mode, server.url, where) for mode in MODES} for _ in range(args.rounds)]
    finally:
        server.stop()
    calls = args.bars - PERIODS[1] + 1  # ema_gap runs once the slow EMA is initialized
    print(f"EMA-cross {PERIODS[0]}/{PERIODS[1]} charted, {args.bars:,} bars, breakpoint at "
          f"{Path(where[0]).name}:{where[1]} (ema_gap, ~{calls:,} hits a run), {args.rounds} round(s)")
    for i, r in enumerate(rounds):
        print("  round %d (CPU): " % (i + 1) + ", ".join(f"{m} {s:.2f} s" for m, s in r.items()))
    ratio = statistics.median(r["cb.at"] / r["debugpy"] for r in rounds)
    bare = statistics.median(r["False"] / r["debugpy"] for r in rounds)
    per_hit = statistics.median((r["cb.at"] - r["debugpy"]) / calls * 1e6 for r in rounds)
    under = statistics.median(r["debugpy"] / r["plain"] for r in rounds)
    own = statistics.median(r["cb.at"] / r["False"] for r in rounds)
    print(f"  cb.at(t) false: {ratio:.3f}x the run under debugpy without it ({per_hit:.1f} us per hit); "
          f"a literal False condition: {bare:.3f}x; so cb.at itself: {own:.3f}x the False breakpoint; "
          f"debugpy attached: {under:.2f}x the run without a debugger")
    fastest = min(r["debugpy"] for r in rounds)
    print(json.dumps({"figures": [
        {"name": "debug_condition_cbat_over_false", "value": round(own, 3), "unit": "x", "target": "<= 1.10",
         "baseline": None, "baselineLabel": "the same breakpoint with the condition False, in the same round: what "
                                            "cb.at(t) adds to debugpy's own evaluation"},
        {"name": "debug_condition_false_ratio", "value": round(ratio, 3), "unit": "x", "target": "<= 2.0",
         "baseline": None, "baselineLabel": f"the same {args.bars}-bar backtest under debugpy without the breakpoint, "
                                            f"in the same round ({fastest:.1f} s fastest)"},
        {"name": "debug_condition_literal_false_ratio", "value": round(bare, 3), "unit": "x", "target": "<= 2.0",
         "baseline": None, "baselineLabel": "same, a breakpoint whose condition is False (debugpy's own cost)"},
    ]}))


if __name__ == "__main__":
    main()
