"""Every write the target acknowledged is in its store exactly once, and readers see it: checked per write.

The matching is tested on its own, case by case; then on real runs, with faults, of both targets; then on
a crud with a planted defect of each kind, which the check must catch while the target's own checks pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from bench.report.document import read_summary
from bench.report.location import SUMMARY_JSON
from bench.rundir import files
from bench.rundir.checks import DataChecks
from bench.rundir.read import read_manifest
from bench.rundir.writes import WriteCheck, WriteOutcome, WriteRecord
from bench.writecheck.judge import StoredMove, judge

ACCOUNT = "00000000-0000-4000-8000-000000000001"


def write(
    version: int | None, amount: int, outcome: WriteOutcome = WriteOutcome.ACKED, kind: str = "deposit"
) -> WriteRecord:
    return WriteRecord(
        key=f"k{version}-{amount}",
        entity=ACCOUNT,
        kind=kind,
        amount=amount,
        outcome=outcome,
        version=version if outcome is WriteOutcome.ACKED else None,
        attempts=1,
        status=200 if outcome is WriteOutcome.ACKED else 0,
        at=0.0,
    )


def move(version: int, amount: int, kind: str = "deposit") -> StoredMove:
    return StoredMove(ACCOUNT, version, kind, amount)


def test_acknowledged_writes_found_at_their_versions_are_present() -> None:
    tally = judge([write(2, 10), write(3, 20, kind="withdrawal")], [move(2, 10), move(3, 20, "withdrawal")])
    assert (tally.acknowledged, tally.present, tally.lost, tally.doubled) == (2, 2, 0, 0)


@pytest.mark.parametrize(
    ("moves", "why"),
    [
        ([move(3, 20)], "the store has no version 2"),
        ([move(2, 11), move(3, 20)], "its version 2 is a deposit of 11"),
        ([move(2, 10, "withdrawal"), move(3, 20)], "its version 2 is a withdrawal of 10"),
    ],
)
def test_an_acknowledged_write_missing_or_changed_in_the_store_is_lost(moves: list[StoredMove], why: str) -> None:
    tally = judge([write(2, 10), write(3, 20)], moves)
    assert (tally.present, tally.lost) == (1, 1)
    assert why in tally.examples["lost"][0]


def test_two_acknowledged_writes_cannot_both_be_one_version() -> None:
    tally = judge([write(2, 10), write(2, 10)], [move(2, 10)])
    assert (tally.present, tally.lost) == (1, 1)
    assert "claimed by another acknowledged write" in tally.examples["lost"][0]


def test_a_move_no_write_explains_is_doubled() -> None:
    tally = judge([write(2, 10)], [move(2, 10), move(3, 10), move(4, 99)])
    assert (tally.present, tally.doubled) == (1, 2)
    assert "the same as an acknowledged write" in tally.examples["doubled"][0]
    assert "like no write the load generator sent" in tally.examples["doubled"][1]


def test_a_write_of_unknown_outcome_may_be_present_once_or_absent_never_twice() -> None:
    unknown = [write(None, 10, WriteOutcome.UNKNOWN), write(None, 30, WriteOutcome.UNKNOWN)]
    tally = judge(unknown, [move(2, 10)])
    assert (tally.unknown, tally.unknown_present, tally.unknown_absent, tally.doubled) == (2, 1, 1, 0)
    twice = judge(unknown[:1], [move(2, 10), move(3, 10)])
    assert (twice.unknown_present, twice.doubled) == (1, 1)


def test_refused_and_retried_writes_are_counted() -> None:
    retried = msgspec.structs.replace(write(2, 10), attempts=3)
    tally = judge([retried, write(None, 5, WriteOutcome.REFUSED, "withdrawal")], [move(2, 10)])
    assert (tally.present, tally.refused, tally.retried, tally.doubled) == (1, 1, 1, 0)


# --- real runs ----------------------------------------------------------------------------------------------

SHORT_RUN = [
    *("--users", "20", "--spawn-rate", "20", "--think-time", "0..20ms", "--warmup", "1s", "--duration", "8s"),
    *("--accounts", "50", "--entries", "10", "--scenario", "banking", "--mix", "write-heavy"),
]


def bench_run(tmp_path: Path, target: str, *more: str, env: dict[str, str] | None = None) -> tuple[int, Path, str]:
    argv = [sys.executable, "-m", "bench", "run", "--target", target, *SHORT_RUN, *more, "--out", str(tmp_path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240, env={**os.environ, **(env or {})})
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-3000:]
    return done.returncode, Path(lines[-1]), done.stderr


def write_check(run: Path) -> WriteCheck:
    return msgspec.json.decode((run / files.ACKNOWLEDGED).read_bytes(), type=WriteCheck)


@pytest.mark.timeout(300)
def test_no_acknowledged_write_is_lost_or_doubled_through_faults_in_crud(tmp_path: Path) -> None:
    # cqrs gets every fault kind in tests/test_faults.py, whose run this check also judges.
    faults = ["--fault", "restart-postgres@3s", "--fault", "kill-worker@6s"]
    code, run, stderr = bench_run(tmp_path, "crud", *faults, "--workers", "2")
    assert code == 0, stderr[-3000:]
    check = write_check(run)
    assert check.checked, check.why_not_checked
    assert check.acknowledged > 100
    assert (check.present, check.lost, check.doubled) == (check.acknowledged, 0, 0), check.examples
    assert check.read_side_checked == check.accounts > 0
    assert check.read_side_wrong == 0, check.examples
    assert check.unreadable_lines == 0
    # Every write the load generator sent is in one line of the log, whatever its outcome.
    assert check.sent == check.acknowledged + check.unknown + check.refused
    assert read_manifest(run).acknowledged_writes is not None
    assert "Acknowledged writes: none lost or doubled" in stderr


# The tests' own modules import from anywhere, as the runs' target processes need them to.
DEFECTIVE = {"BENCH_TARGET_MODULES": "tests.defective_crud", "PYTHONPATH": str(Path(__file__).parent.parent)}


@pytest.mark.timeout(300)
def test_planted_defects_are_caught_though_the_stores_own_checks_pass(tmp_path: Path) -> None:
    defects = {**DEFECTIVE, "BENCH_DEFECT": "lose,double,stale-read"}
    code, run, stderr = bench_run(tmp_path, "crud-defective", "--check-data", env=defects)
    assert code == 4, stderr[-3000:]
    check = write_check(run)
    assert check.checked
    assert check.lost > 0, check
    assert check.doubled > 0, check
    assert check.read_side_wrong > 0, check
    assert check.passed is False
    assert "Acknowledged writes: LOST OR DOUBLED" in stderr
    # The defects keep the store consistent with itself, so only the client's log can tell.
    invariants = msgspec.json.decode((run / files.DATA_CHECKS).read_bytes(), type=DataChecks)
    assert invariants.passed, invariants


COMPARE = """
name = "faults"
repeats = 1
generator_retries = 2

[load]
scenario = "banking"
mix = "write-heavy"
users = 20
think_time = "0..20ms"
spawn_rate = 20
warmup = "1s"
duration = "8s"

[data]
accounts = 50
entries = 10
customers = 10
orders = 50

[[faults]]
kind = "restart-postgres"
at = "4s"

[[arms]]
name = "crud"
target = "crud"

[[arms]]
name = "defective"
target = "crud-defective"
"""


@pytest.mark.timeout(420)
def test_compare_tables_the_writes_and_the_faults_of_each_arm_and_exits_4_on_a_lost_write(tmp_path: Path) -> None:
    experiment = tmp_path / "faults.toml"
    experiment.write_text(COMPARE)
    argv = [sys.executable, "-m", "bench", "compare", str(experiment), "--out", str(tmp_path / "reports")]
    env = {**os.environ, **DEFECTIVE, "BENCH_DEFECT": "lose"}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=400, env=env, cwd=tmp_path)
    assert done.returncode == 4, done.stderr[-3000:]
    assert "acknowledged writes: defective repetition 0:" in " ".join(done.stderr.split())
    report = Path(done.stdout.strip().splitlines()[-1])
    summary = read_summary((report / SUMMARY_JSON).read_bytes())
    checks = {run.arm: run.write_check for run in summary.runs}
    assert checks["crud"] is not None
    assert checks["crud"].passed, checks["crud"]
    assert checks["defective"] is not None
    assert checks["defective"].lost > 0
    lines = (report / "report.md").read_text().splitlines()
    writes = lines[next(i for i, line in enumerate(lines) if line.startswith("| Arm | Runs checked |")) :]
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("|").split("|")] for line in writes[2:4])}
    assert rows["crud"][4] == "0"
    assert rows["defective"][4].endswith("LOST")
    # Both arms had the same fault at the same offset; what it cost is judged from each run's time series.
    for run in summary.runs:
        assert run.faults is not None
        assert [fault.fault for fault in run.faults.faults] == ["restart-postgres@4s"]
        assert len(run.fault_costs) == 1
        assert run.fault_costs[0].errors is not None
    faults = next(i for i, line in enumerate(lines) if line.startswith("| Arm | Repetition | Fault | Outcome |"))
    assert sum("| restart-postgres@4s | applied |" in line for line in lines[faults : faults + 6]) == 2

    rebuilt = subprocess.run(
        [sys.executable, "-m", "bench", "report", str(report), "--out", str(tmp_path / "rebuilt")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    assert (tmp_path / "rebuilt" / SUMMARY_JSON).read_bytes() == (report / SUMMARY_JSON).read_bytes()
