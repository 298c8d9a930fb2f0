"""The overhead matrix's shapes under callgrind: counted instructions and simulated cache misses.

    .venv/bin/python python/bench/overhead_callgrind.py [--shape NAME ...] [--bars 2000] [--ll 512] [--functions 30]

The wall-clock matrix (``nautilus_overhead.py``) is the target's measure, but on a machine shared
with other tenants a paired round reads anywhere from 0.86x to 1.24x and a shape's median moves
by ~5% between runs of the same code. Here each shape's backtest (``nautilus_overhead.py``'s
child: ``engine.run()`` and, charted, the flush) runs under ``valgrind --tool=callgrind
--cache-sim=yes`` at ``--bars`` and at twice that, without and with Chartbridge; the difference
between the two bar counts is the cost of ``--bars`` bars, imports and the engine's build
cancelled out, counted as instructions plus 12 cycles per first-level cache miss and 100 per
last-level miss (simulated caches of fixed sizes: ``L1`` and ``--ll``), and the figure is charted over
plain. In session 16 (with the host's caches simulated) it read 1.091x for ``indicator_heavy``
where the wall-clock median read 1.090x.

Its limit: what the producer does by the clock (a heartbeat every 2 s, the flush thread's looks)
is counted too, and under valgrind a run lasts ~50x longer, so the charted count carries ~50x the
heartbeats of a real run, as many as the machine's speed gives. Session 17 counted ``short`` at
1.066x with session 16's code and 1.108x with its own, whose changes touch no per-bar path (the
compiled parts' counts were equal to the instruction; the difference was in the interpreter and
in memset), unexplained: read a difference of a few percent as a hint, not as a measurement.
``--functions N`` also names where the instructions go: the runs use CPython's perf trampolines
(``PYTHONPERFSUPPORT=1``, 3.12+), so each Python function entered from C (a bus handler, a
decorated call, a hand-over) is a function of its own in callgrind's call graph, named by the
process's ``/tmp/perf-<pid>.map``. It prints chartbridge's N functions (Python and compiled) with
the most instructions a bar in the charted run, inclusive (what they call, Python called from them
too), counted from the calls' costs at their call sites: a bus handler, a decorated call's
wrapper, a hand-over each show their whole cost a bar. A wrapper of a Nautilus call counts that
call too (the portfolio's fill endpoint, ``_hook_fills.<locals>.update_order``, and the
analyzer's ``calculate_statistics``); what the producer's thread does by the clock reads as noise
(even below zero). The trampolines add their own instructions to both runs, so the modelled cost
printed beside is not the one without them. Give it ``--bars 4000`` or more: at the default no
hand-over (every ``backtest_batch``, 5,000 bars) falls between the two counts.

A run takes about 5 minutes a shape at 2,000 bars on 2 cores (two valgrinds at once), so it is
a tool to run by hand, not part of ``npm run bench``. Needs valgrind (``apt-get install
valgrind``) and a private redis-server, which it starts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
L1_CYCLES, LL_CYCLES = 12, 100  # what a first-level and a last-level miss cost, roughly, in cycles
# The simulated caches, fixed (callgrind reads the host's otherwise): 32 KiB first-level caches and
# a last level of ``--ll`` KiB, by default 32 MiB, a common server's L3. Callgrind simulates two
# levels only; ``--ll 512`` makes the last level an AMD EPYC's per-core L2 instead, the level where
# the charted run's extra misses show: ``ema_cross`` (session 20, 5,000 bars) costs 1.015x with
# the 32 MiB L3 and 1.069x with the 512 KiB L2 (its instruction fetches missing L2 a bar: 152
# plain, 301 charted), where the wall-clock matrix reads 1.09x.
L1 = ["--I1=32768,8,64", "--D1=32768,8,64"]


def counts(shape: str, bars: int, charted: bool, url: str, out: Path, ll_kib: int,
           functions: bool) -> tuple[dict[str, int], Counter[str]]:
    """Callgrind's totals of one backtest (a fresh process, as the wall-clock matrix runs it) and,
    with ``functions``, each function's inclusive instructions (``called``)."""
    # A fixed hash seed: with a random one each process probes its dicts and sets differently, so
    # the same code's count differs from run to run.
    env = {**os.environ, "CHARTBRIDGE_REDIS_URL": url, "CHARTBRIDGE": "on" if charted else "off", "PYTHONHASHSEED": "0",
           **({"PYTHONPERFSUPPORT": "1"} if functions else {})}
    process = subprocess.Popen(["valgrind", "--tool=callgrind", "--cache-sim=yes", *L1,
                                f"--LL={ll_kib * 1024},{8 if ll_kib <= 2048 else 16},64",  # an L2's 8 ways, an L3's 16
                                f"--callgrind-out-file={out}",
                                sys.executable, str(HERE / "nautilus_overhead.py"), "--child",
                                "charted" if charted else "baseline", "--shape", shape, "--bars", str(bars)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = process.communicate()
    if process.returncode:
        raise RuntimeError(f"callgrind of {shape} ({bars} bars) failed: {err.decode()[-2000:]}")
    lines = out.read_text().splitlines()
    events = next(line for line in lines if line.startswith("events:")).split()[1:]
    totals = next(line for line in lines if line.startswith(("summary:", "totals:"))).split()[1:]
    perf_map = Path(f"/tmp/perf-{process.pid}.map")  # valgrind runs the program in its own process
    names = _perf_names(perf_map) if functions else {}
    perf_map.unlink(missing_ok=True)
    return dict(zip(events, map(int, totals))), called(lines, names) if functions else Counter()


def _perf_names(path: Path) -> dict[int, str]:
    """The perf map's trampolines: address -> ``py::<function>:<file>``."""
    names = {}
    for line in path.read_text().splitlines():
        address, _, name = line.split(" ", 2)
        names[int(address, 16)] = name
    return names


_NAMED = re.compile(r"c?fn=\((\d+)\)(?: (.*))?")


def called(lines: list[str], perf: dict[int, str]) -> Counter[str]:
    """Per function, the instructions of all calls into it, each counted where it is called
    (callgrind's inclusive cost per call site: a function that re-enters itself is counted once
    per entry). A trampoline's address is named from ``perf``."""
    names: dict[str, str] = {}
    total: Counter[str] = Counter()
    target, pending = "", False
    for line in lines:
        if line.startswith(("fn=", "cfn=")):
            match = _NAMED.match(line)
            assert match is not None
            if match.group(2):
                names[match.group(1)] = match.group(2)
            if line[0] == "c":
                target = names[match.group(1)]
        elif line.startswith("calls="):
            pending = True
        elif pending:
            total[target] += int(line.split()[1])
            pending = False
    named: Counter[str] = Counter()
    for name, instructions in total.items():
        address = re.match(r"0x([0-9a-f]+)$", name)
        named[perf.get(int(address.group(1), 16), name) if address else name] += instructions
    return named


def cost(c: dict[str, int]) -> float:
    """Instructions plus the cycles of the simulated cache misses."""
    return (c["Ir"] + L1_CYCLES * (c["I1mr"] + c["D1mr"] + c["D1mw"])
            + LL_CYCLES * (c["ILmr"] + c["DLmr"] + c["DLmw"]))


def print_functions(got: list[tuple[dict[str, int], Counter[str]]], bars: int, n: int) -> None:
    """chartbridge's ``n`` functions with the most inclusive instructions a bar in the charted run."""
    small, big = got[2][1], got[3][1]
    ours = {k: (big[k] - small.get(k, 0)) / bars for k in big
            if "/chartbridge/" in k or k.startswith("__pyx_") and "chartbridge" in k}
    for k in sorted(ours, key=lambda k: -abs(ours[k]))[:n]:
        print(f"  {ours[k]:+9,.0f} instructions a bar  {k.removeprefix('py::')[:110]}")


def main() -> None:
    sys.path.insert(0, str(HERE))
    from nautilus_overhead import shapes

    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", action="append", choices=sorted(shapes()), help="only these shapes")
    parser.add_argument("--bars", type=int, default=2000, help="the smaller bar count (the larger is twice it)")
    parser.add_argument("--ll", type=int, default=32768, help="the simulated last level in KiB (default: 32 MiB)")
    parser.add_argument("--functions", type=int, default=0, metavar="N",
                        help="also print the N Python and compiled functions whose instructions a bar differ most")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "python" / "src"))
    from chartbridge.testing import RedisServer

    work = Path(tempfile.mkdtemp(prefix="cb-callgrind-"))
    server = RedisServer(work)
    server.start()
    figures = []
    try:
        for name in args.shape or shapes():
            runs = [(bars, charted) for charted in (False, True) for bars in (args.bars, 2 * args.bars)]
            with ThreadPoolExecutor(max_workers=2) as pool:
                got = list(pool.map(lambda r: counts(name, r[0], r[1], server.url, work / f"{name}.{r[0]}.{int(r[1])}.out",
                                                     args.ll, args.functions > 0), runs))
            marginal = [{k: big[0][k] - small[0][k] for k in small[0]} for small, big in (got[0:2], got[2:4])]
            plain, charted = marginal
            ratio = cost(charted) / cost(plain)
            per_bar = {k: (plain[k] / args.bars, charted[k] / args.bars) for k in ("Ir", "I1mr", "D1mr", "ILmr", "DLmr")}
            print(f"{name}: a bar plain -> charted: " + ", ".join(f"{k} {p:,.0f} -> {c:,.0f}" for k, (p, c) in per_bar.items())
                  + f"; modelled cost {ratio:.3f}x", flush=True)
            if args.functions:
                print_functions(got, args.bars, args.functions)
            figures.append({"name": f"producer_overhead_{name}_callgrind_ratio", "value": round(ratio, 3), "unit": "x",
                            "target": "<= 1.10", "baseline": None,
                            "baselineLabel": f"the same shape without chartbridge under callgrind, the cost of bars "
                                             f"{args.bars} to {2 * args.bars}: instructions + {L1_CYCLES} cycles an L1 "
                                             f"miss + {LL_CYCLES} a last-level miss ({args.ll} KiB)"})
    finally:
        server.stop()
    print(json.dumps({"figures": figures}))


if __name__ == "__main__":
    main()
