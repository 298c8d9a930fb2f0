"""A real Chartbridge producer for the reliability suite: the Python SDK writing paced points.

usage: producer.py URL PREFIX RUN SERIES RATE SECONDS T0_NS [--hold]

Writes SERIES line series named s00, s01, ... at RATE points per second each for SECONDS
seconds of wall time: point j of every series has time T0_NS + j * (1e9 / RATE) ns and value j.
Prints one JSON line per event on stdout ("started", "progress" each second, "done"). With
--hold it flushes, prints "done" and then keeps running (heartbeating) without ending its run,
so that the test can kill it; without it, it ends the run and exits.
"""

from __future__ import annotations

import json
import sys
import time

import chartbridge as cb


def say(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def main() -> None:
    url, prefix, run, n_series, rate, seconds, t0 = sys.argv[1:8]
    hold = "--hold" in sys.argv[8:]
    rate_i, total = int(rate), int(float(seconds) * int(rate))
    step = 1_000_000_000 // rate_i
    start_ns = int(t0)
    cb.configure(url=url, prefix=prefix, run=run, strategy="reliability")
    series = [cb.series(f"s{i:02d}") for i in range(int(n_series))]
    say("started", total=total)
    begin = time.monotonic()
    done = 0
    next_report = 1.0
    while done < total:
        elapsed = time.monotonic() - begin
        target = min(total, int(elapsed * rate_i))
        for j in range(done, target):
            t = start_ns + j * step
            v = float(j)
            for s in series:
                s.add(v, time=t)
        done = max(done, target)
        if elapsed >= next_report:
            next_report += 1.0
            say("progress", points=done, stats=cb.stats())
        time.sleep(0.005)
    flushed = cb.flush(120.0)
    say("done", points=done, flushed=flushed, stats=cb.stats())
    if hold:
        while True:
            time.sleep(1)
    cb.end_run()
    cb.flush(30.0)
    say("ended", stats=cb.stats())


if __name__ == "__main__":
    main()
