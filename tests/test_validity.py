"""The validity verdict from a run directory's samples: each finding carries the kind readers switch on."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pytest

from bench.run.validity import judge
from bench.rundir import columns, files
from bench.rundir.validity import FindingKind

STEADY = set(range(100, 110))


def write(path: Path, header: Sequence[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)


def loop_lag(run: Path, cpu_by_worker: dict[int, float], lag_ms: float = 1.0) -> None:
    rows: list[list[object]] = [
        [s, worker, lag_ms, 0.5, cpu, 0.0, 0] for s in sorted(STEADY) for worker, cpu in cpu_by_worker.items()
    ]
    write(run / files.LOOP_LAG, columns.LOOP_LAG, rows)


def test_remote_workers_are_judged_by_the_cpu_they_report(tmp_path: Path) -> None:
    """No local Locust process was sampled (workers on other hosts): their own reports decide."""
    loop_lag(tmp_path, {0: 40.0, 1: 97.0})
    validity = judge(tmp_path, STEADY, asked_rate=None, complete=True, why_incomplete=None)
    assert not validity.valid
    assert [finding.kind for finding in validity.findings] == [FindingKind.GENERATOR_CPU]
    assert "worker 1 (its own report) used 97%" in validity.reasons[0]


def test_locally_sampled_workers_are_not_judged_twice(tmp_path: Path) -> None:
    loop_lag(tmp_path, {0: 97.0})
    rows: list[list[object]] = [[s, 4242, columns.GeneratorRole.LOCAL, 96.0] for s in sorted(STEADY)]
    write(tmp_path / files.GENERATOR_SAMPLES, columns.GENERATOR, rows)
    validity = judge(tmp_path, STEADY, asked_rate=None, complete=True, why_incomplete=None)
    assert [finding.kind for finding in validity.findings] == [FindingKind.GENERATOR_CPU]
    assert "local process 4242 used 96%" in validity.reasons[0]
    assert validity.measures.generator_cpu is not None
    assert validity.measures.generator_cpu[0].mean_percent == pytest.approx(96.0)


def test_an_idle_generator_is_valid(tmp_path: Path) -> None:
    loop_lag(tmp_path, {0: 30.0, 1: 35.0})
    validity = judge(tmp_path, STEADY, asked_rate=None, complete=True, why_incomplete=None)
    assert validity.valid, validity.reasons
    assert validity.findings == []


def test_a_lagging_event_loop_is_its_own_kind(tmp_path: Path) -> None:
    loop_lag(tmp_path, {0: 30.0}, lag_ms=45.0)
    validity = judge(tmp_path, STEADY, asked_rate=None, complete=True, why_incomplete=None)
    assert [finding.kind for finding in validity.findings] == [FindingKind.LOOP_LAG]
    assert validity.measures.loop_lag_p90_of_per_second_max_ms == {0: 45.0}


@pytest.mark.parametrize(("late_seconds", "valid"), [(0, True), (1, True), (2, False)])
def test_the_loop_is_judged_by_the_share_of_late_seconds(tmp_path: Path, late_seconds: int, valid: bool) -> None:
    """Over 10 steady seconds one very late second is 10%, which is allowed; two are 20%, which is not."""
    rows: list[list[object]] = [
        [s, 0, 700.0 if index < late_seconds else 1.0, 0.5, 30.0] for index, s in enumerate(sorted(STEADY))
    ]
    write(tmp_path / files.LOOP_LAG, columns.LOOP_LAG, rows)
    validity = judge(tmp_path, STEADY, asked_rate=None, complete=True, why_incomplete=None)
    assert validity.valid == valid, validity.reasons
    if not valid:
        assert "in 20% of the steady seconds (more than 10%)" in validity.reasons[0]


def test_a_missed_arrival_rate_is_a_rate_shortfall(tmp_path: Path) -> None:
    loop_lag(tmp_path, {0: 30.0})
    write(tmp_path / files.ACTIONS, columns.ACTIONS, [[s, 80] for s in sorted(STEADY)])
    validity = judge(tmp_path, STEADY, asked_rate=100.0, complete=True, why_incomplete=None)
    assert [finding.kind for finding in validity.findings] == [FindingKind.RATE_SHORTFALL]
    assert (validity.measures.asked_rate, validity.measures.achieved_rate) == (100.0, 80.0)
    kept_up = judge(tmp_path, STEADY, asked_rate=82.0, complete=True, why_incomplete=None)
    assert kept_up.valid, kept_up.reasons


def test_an_incomplete_run_without_a_steady_state_says_both(tmp_path: Path) -> None:
    validity = judge(tmp_path, set(), asked_rate=None, complete=False, why_incomplete="interrupted by Ctrl-C")
    assert [finding.kind for finding in validity.findings] == [FindingKind.INCOMPLETE, FindingKind.NO_STEADY_STATE]
    assert "interrupted by Ctrl-C" in validity.reasons[0]
