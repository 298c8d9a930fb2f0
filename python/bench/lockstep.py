"""Two processes timed in lockstep: they take turns running, a few milliseconds each, so what
the machine's other tenants do to it (a neighbour busy for a second, a slower stretch of the
host) falls on both alike. Run back to back instead, two identical runs on the shared machines
here differ by 5-20%, more than the overhead measured; in turns, by about 1%.

A child builds what it does not time, then calls ``ready()``, which returns once its turns
begin; it times its work with ``time.monotonic()`` (the clock the turns are recorded in) and
prints its figures as the last line of its standard output. Its active time is how much of its
turns fell inside that window: waiting inside a turn (a round trip to Redis, the GIL held by
another thread) counts, as it does in a run alone; the other process's turns do not. A stopped
process's threads all stop, so a charted run's producer thread takes turns with it.

Only one of the two runs at a time, on every core: the one running has the machine to itself,
as it would alone (Redis, in a third process, runs whenever it is asked).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

TURN_S = 0.02  # each process's turn: short against the minutes-long swings of a shared host
_READY_FD = "CB_LOCKSTEP_READY_FD"


def ready() -> None:
    """In a child: say it is built, and wait for its first turn (run alone: return)."""
    if _READY_FD not in os.environ:
        return
    fd = int(os.environ[_READY_FD])
    os.write(fd, b"r")
    os.close(fd)
    sys.stdin.readline()  # the turns begin once the parent has written to every child


def run_pair(commands: list[list[str]], envs: list[dict[str, str]], turn: float = TURN_S) -> list[dict[str, Any]]:
    """Run the two ``commands`` in turns; each child's figures (its last line of JSON) with
    ``active``: the seconds of its turns inside its window ``start``-``end``."""
    procs: list[subprocess.Popen[str]] = []
    outs = []
    try:
        for command, env in zip(commands, envs):
            read, write = os.pipe()
            out = tempfile.TemporaryFile(mode="w+")  # a full pipe would block the child in its turn
            # PYTHONFAULTHANDLER: a child that crashes says where, rather than ending with no output.
            procs.append(subprocess.Popen(command, env={**env, _READY_FD: str(write), "PYTHONFAULTHANDLER": "1"},
                                          stdin=subprocess.PIPE,
                                          stdout=out, stderr=subprocess.STDOUT, text=True, pass_fds=(write,)))
            os.close(write)
            outs.append((out, read))
        for proc, (out, read) in zip(procs, outs):  # built, each while the other builds too
            got = os.read(read, 1)
            if got != b"r":
                proc.wait()
                out.seek(0)
                raise RuntimeError(f"{' '.join(proc.args)} failed before its run:\n{out.read()}")
        turns = _take_turns(procs, turn)
    finally:
        for _, read in outs:
            os.close(read)
        for proc in procs:  # a failed pair leaves no child behind, stopped or waiting
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    results = []
    for proc, (out, _), mine in zip(procs, outs, turns):
        out.seek(0)
        text = out.read()
        if proc.returncode != 0:  # a negative code is the signal that ended it
            raise RuntimeError(f"{' '.join(proc.args)} failed (exit code {proc.returncode}):\n{text}")
        result: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
        start, end = result["start"], result["end"]
        result["active"] = sum(max(0.0, min(b, end) - max(a, start)) for a, b in mine)
        results.append(result)
    return results


def _take_turns(procs: list[subprocess.Popen[str]], turn: float) -> list[list[tuple[float, float]]]:
    """Run ``procs`` (built, waiting for their first turn) in turns until all have exited; each
    one's turns as (began, ended) on ``time.monotonic()``."""
    turns: list[list[tuple[float, float]]] = [[] for _ in procs]
    for proc in procs:
        proc.send_signal(signal.SIGSTOP)
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.close()
    alive = list(range(len(procs)))
    while alive:
        for i in list(alive):
            proc = procs[i]
            began = time.monotonic()
            proc.send_signal(signal.SIGCONT)
            time.sleep(turn)
            if proc.poll() is None and len(alive) > 1:
                proc.send_signal(signal.SIGSTOP)
            turns[i].append((began, time.monotonic()))
            if proc.poll() is not None:
                alive.remove(i)
    return turns
