"""The overhead matrix's lockstep (python/bench/lockstep.py): two real processes take turns, and
each one's time is only its own turns inside its timed window, so a run twice as long as the
other reads twice as long though both share the same wall clock."""

from __future__ import annotations

import os
import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "python" / "bench"))
import lockstep  # noqa: E402

# A child: built (a pause lockstep must not count), then ``work`` s of CPU, its figures as JSON.
CHILD = """
import json, sys, time
sys.path.insert(0, {bench!r})
import lockstep
time.sleep(0.2)
lockstep.ready()
start, cpu = time.monotonic(), time.process_time()
while time.process_time() - cpu < {work}:
    pass
print("some output of the run")
print(json.dumps({{"start": start, "end": time.monotonic(), "cpu": time.process_time() - cpu}}))
"""


def _child(work: float) -> list[str]:
    return [sys.executable, "-c", CHILD.format(bench=str(REPO / "python" / "bench"), work=work)]


def test_each_process_is_timed_by_its_own_turns() -> None:
    plain, longer = lockstep.run_pair([_child(0.4), _child(0.8)], [dict(os.environ)] * 2)
    # Each ran in turns: its window spans the other's turns too (the plain one's is all shared,
    # the longer one's for half its work), its active time does not.
    assert plain["end"] - plain["start"] > 1.5 * plain["active"]
    assert longer["end"] - longer["start"] > 1.2 * longer["active"]
    # Stopped outside its turns, each used its CPU time inside them. Its turns also hold what
    # other load on the host took from it (up to +70% while a CI run worked beside it), which
    # both runs share: neither active time is compared with the CPU time from above.
    for run in (plain, longer):
        assert run["active"] >= 0.9 * run["cpu"]
    assert longer["active"] > 1.4 * plain["active"]


def test_a_child_that_fails_before_its_run_is_reported_with_its_output() -> None:
    broken = [sys.executable, "-c", "import sys; print('the engine could not be built'); sys.exit(3)"]
    with pytest.raises(RuntimeError, match="failed before its run:\nthe engine could not be built"):
        lockstep.run_pair([broken, _child(0.1)], [dict(os.environ)] * 2)
