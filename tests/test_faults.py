"""Faults injected into a run under load: parsed, applied at their offsets, recorded, and the run goes on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.faults.spec import FaultKind, FaultSpec, FaultSpecError, check_schedule, parse_fault
from bench.report.faults import fault_costs
from bench.rundir import files
from bench.rundir.faults import FaultOutcome, FaultRecord, FaultTimeline
from bench.rundir.read import read_faults, read_manifest, read_write_check
from tests.cli_support import BenchCli

SHORT_RUN = [
    *("--users", "20", "--spawn-rate", "20", "--think-time", "0..50ms", "--warmup", "1s", "--duration", "16s"),
    *("--accounts", "50", "--entries", "20", "--customers", "10", "--orders", "100", "--scenario", "banking"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kill-projector@20s", FaultSpec(FaultKind.KILL_PROJECTOR, 20.0)),
        ("restart-postgres@1.5m", FaultSpec(FaultKind.RESTART_POSTGRES, 90.0)),
        ("pause-projector@20s+3s", FaultSpec(FaultKind.PAUSE_PROJECTOR, 20.0, 3.0)),
        ("pause-projector@20s", FaultSpec(FaultKind.PAUSE_PROJECTOR, 20.0, 5.0)),
        (" flush-redis @ 500ms ", FaultSpec(FaultKind.FLUSH_REDIS, 0.5)),
    ],
)
def test_a_fault_is_written_kind_at_offset_and_for_how_long(text: str, expected: FaultSpec) -> None:
    assert parse_fault(text) == expected
    assert parse_fault(expected.text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kill-projector", "has no @AT"),
        ("unplug@3s", "'unplug' is not a fault"),
        ("kill-projector@soon", "'soon' is not a duration"),
        ("kill-projector@3s+2s", "kill-projector is over at once and takes no +FOR"),
        ("pause-projector@3s+0s", "+FOR must be more than 0 s"),
    ],
)
def test_a_bad_fault_says_what_was_expected(text: str, expected: str) -> None:
    with pytest.raises(FaultSpecError, match=re.escape(expected)):
        parse_fault(text)


def test_a_fault_after_the_load_is_refused() -> None:
    check_schedule([parse_fault("flush-redis@9s")], load_seconds=10)
    with pytest.raises(FaultSpecError, match="flush-redis@10s would start after the load ends"):
        check_schedule([parse_fault("flush-redis@10s")], load_seconds=10)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("kill-projector", "'kill-projector' has no @AT"),
        ("stall@3s", "'stall' is not a fault"),
        ("kill-worker@1h", "kill-worker@3600s would start after the load ends"),
    ],
)
def test_bench_run_refuses_a_bad_fault_with_exit_2(bench: BenchCli, tmp_path: Path, fault: str, expected: str) -> None:
    result = bench("run", "--target", "floor", *SHORT_RUN, "--fault", fault, "--out", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.stderr.split())
    assert not any(tmp_path.iterdir())  # refused before anything ran


def run_with_faults(tmp_path: Path, target: str, faults: list[str], *more: str) -> Path:
    argv = [sys.executable, "-m", "bench", "run", "--target", target, *SHORT_RUN, *more, "--out", str(tmp_path)]
    for fault in faults:
        argv += ["--fault", fault]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Faults (seconds after the load's start):" in done.stderr
    return Path(done.stdout.strip().splitlines()[-1])


def seconds_sampled(run: Path, component: str) -> list[int]:
    samples = pd.read_csv(run / files.PROCESS_SAMPLES)
    return sorted(samples[samples["component"] == component]["second"].astype(int))


def faults_of(run: Path) -> FaultTimeline:
    timeline = read_faults(run)
    assert timeline is not None
    return timeline


@pytest.mark.timeout(300)
def test_every_fault_is_applied_to_cqrs_under_load_and_the_run_goes_on(tmp_path: Path) -> None:
    faults = [
        "kill-projector@3s",
        "pause-projector@5s+2s",
        "kill-worker@8s",
        "flush-redis@10s",
        "restart-redis@12s",
        "restart-postgres@14s",
        "pause-projector@16s+60s",  # still lasting when the load ends: lifted then, before the checks
    ]
    run = run_with_faults(tmp_path, "cqrs", faults, "--workers", "2")
    assert read_manifest(run).settings.faults == faults
    timeline = faults_of(run)
    assert [fault.fault for fault in timeline.faults] == faults
    for fault in timeline.faults:
        assert fault.outcome is FaultOutcome.APPLIED, fault
        assert fault.started_at is not None
        assert fault.ended_at is not None
        assert fault.started_at - timeline.load_started_at >= fault.at_s
    pause = timeline.faults[1]
    assert pause.ended_at is not None
    assert pause.started_at is not None
    assert pause.ended_at - pause.started_at >= 2.0  # lifted when its FOR was over, not before
    assert "continued (SIGCONT)" in pause.detail
    last = timeline.faults[6]
    assert last.ended_at is not None
    assert last.started_at is not None
    assert last.ended_at - last.started_at < 60
    assert "continued (SIGCONT)" in last.detail
    # The killed projector was started again by the run's supervisor, and the samplers followed the processes
    # that a fault replaced: the projectors and PostgreSQL are still sampled seconds after their restarts.
    killed = [restart for restart in timeline.restarts if "killed (SIGKILL) by the fault" in restart.detail]
    assert len(killed) == 1
    assert killed[0].ready_at is not None
    for component, fault in (("projectors", timeline.faults[0]), ("postgres", timeline.faults[5])):
        assert fault.ended_at is not None
        after = [second for second in seconds_sampled(run, component) if second > fault.ended_at + 1]
        assert after, f"{component} was not sampled after {fault.fault}"
    # Through all of it no acknowledged write was lost or doubled, and the rebuilt read side shows the store.
    check = read_write_check(run)
    assert check is not None
    assert check.checked, check.why_not_checked
    assert check.acknowledged > 100
    assert (check.present, check.lost, check.doubled) == (check.acknowledged, 0, 0), check.examples
    assert check.read_side_checked == check.accounts > 0
    assert check.read_side_wrong == 0, check.examples


@pytest.mark.timeout(300)
def test_a_fault_that_crud_has_no_part_for_is_recorded_not_applicable(tmp_path: Path) -> None:
    run = run_with_faults(tmp_path, "crud", ["kill-projector@2s", "pause-projector@3s+1s", "kill-worker@4s"])
    outcomes = {fault.kind: fault for fault in faults_of(run).faults}
    assert outcomes["kill-projector"].outcome is FaultOutcome.NOT_APPLICABLE
    assert outcomes["kill-projector"].detail == "target crud has no projector"
    assert outcomes["pause-projector"].outcome is FaultOutcome.NOT_APPLICABLE
    # One API worker: uvicorn has no supervisor to start another, so killing it would end the run instead.
    assert outcomes["kill-worker"].outcome is FaultOutcome.NOT_APPLICABLE
    assert "--workers 2" in outcomes["kill-worker"].detail
    assert all(fault.started_at is None for fault in outcomes.values())


def test_a_faults_cost_is_its_errors_and_the_seconds_until_the_service_is_back_before_the_next_one() -> None:
    # 10 loaded seconds from t=100 at 100 requests/s and a p90 of 5 ms; a fault at 104.3 costs two seconds of
    # failures and slowness, then 3 good seconds in a row from 106: back after 2 s. A second fault at 109.5.
    requests = [100, 100, 100, 100, 40, 60, 100, 100, 100, 100]
    failures = [0, 0, 0, 0, 30, 5, 0, 0, 0, 0]
    p90 = [5.0, 5.0, 5.0, 5.0, 90.0, 20.0, 5.0, 5.0, 5.0, 5.0]
    lag = [0, 0, 0, 0, 50, 10, 0, 0, 0, 900]
    series = pd.DataFrame(
        {
            "second": range(100, 110),
            "phase": ["steady"] * 10,
            "requests": requests,
            "failures": failures,
            "p90_ms": p90,
            "projection_events_behind": lag,
        }
    )

    def fault(at: float) -> FaultRecord:
        return FaultRecord("kill-projector@4s", "kill-projector", 4.0, FaultOutcome.APPLIED, "", at, at + 0.5)

    first, second = fault_costs([fault(104.3), fault(109.5)], series)
    assert (first.errors, first.recovered_after_s, first.lag_peak_events) == (35, 2.0, 50.0)  # 900 is the next's
    assert second.recovered_after_s is None  # fewer than 3 seconds left to judge it by
    assert second.errors == 0
    unapplied = FaultRecord("flush-redis@1s", "flush-redis", 1.0, FaultOutcome.NOT_APPLICABLE, "no Redis")
    assert fault_costs([unapplied], series)[0].note == "not applied"
