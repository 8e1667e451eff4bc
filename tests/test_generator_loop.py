"""The load generator's own per-second work lets the users' I/O and timers in: the merge of each second's
histograms runs in the same event loop as 10,000 users, and while it holds the loop every response waits.

In a child process: importing Locust monkey-patches the whole process for gevent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENDPOINTS = 40
# A second of 40 endpoints' histograms merged with the plugin's pause, while a greenlet asks to wake every
# millisecond; it prints how long the merge took and the ticker's longest wait within it.
MERGE_BESIDE_A_TICKER = f"""
import json, sys, time
from pathlib import Path
import gevent
import scenarios.plugin as plugin
from bench.rundir.messages import WorkerReport
from scenarios.aggregation import IntervalMerger
from scenarios.recording import IntervalRecorder

now = [1000.5]
recorder = IntervalRecorder(open_model=True, clock=lambda: now[0])
for endpoint in range({ENDPOINTS}):
    for request in range(200):
        recorder.record_request(f"GET /e{{endpoint}}", 1.0 + request, start_time=now[0], intended=now[0], failure=None)
now[0] = 1001.05
through, seconds = recorder.drain(everything=True)
report = WorkerReport(worker=0, through=through, cpu=10.0, seconds=seconds)
slices = plugin._TimeSlices(plugin.MERGE_SLICE_SECONDS)
merger = IntervalMerger(Path(sys.argv[1]), expected_workers=1, pause=slices.pause)
ticks = []
def tick():
    while True:
        gevent.sleep(0.001)
        ticks.append(time.perf_counter())
ticker = gevent.spawn(tick)
gevent.sleep(0.01)
start = time.perf_counter()
merger.add_report(report, now=now[0])
end = time.perf_counter()
ticker.kill()
woken = [start, *(t for t in ticks if start < t < end), end]
longest = max(b - a for a, b in zip(woken, woken[1:]))
print(json.dumps({{"merge_ms": (end - start) * 1000, "longest_wait_ms": longest * 1000}}))
"""


@pytest.mark.timeout(60)
def test_the_per_second_merge_lets_timers_fire_while_it_runs(tmp_path: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-c", MERGE_BESIDE_A_TICKER, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=50,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    assert (tmp_path / "latency.csv").read_text().count("\n1000,") == ENDPOINTS + 1, "the second was merged"
    # Held for the whole merge, the ticker would wait all of it; let in between slices, it waits a few of them.
    assert measured["longest_wait_ms"] < measured["merge_ms"] / 3, measured
