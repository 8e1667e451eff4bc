"""Real run directories for the report tests: short floor runs with a known synthetic delay, made once a session.

Two arms (fixed:2ms and fixed:6ms), two repetitions each, interleaved; then the experiment
section written into each manifest as `bench compare` writes it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from bench.rundir import files
from bench.rundir.checks import DataChecks, not_checked
from bench.rundir.manifest import ExperimentTag, Manifest
from bench.rundir.read import read_manifest
from bench.rundir.write import write_struct
from targets.common.checks import DataCheck

ARMS = {"fixed-2ms": "fixed:2ms", "fixed-6ms": "fixed:6ms"}
REPEATS = 2
PASSING_SLO = "mean < 5s"
FAILING_SLO = "p99(writes) < 0.5ms"  # a write served after a 2 ms delay cannot take under 0.5 ms
RUN_ARGS = [
    "--scenario",
    "banking",
    "--users",
    "20",
    "--spawn-rate",
    "20",
    "--think-time",
    "0.05s",
    "--duration",
    "5s",
    "--warmup",
    "1s",
    "--no-seed",
    "--visibility-share",
    "0.02",
]
# A claim the 6 ms arm's runs must support (slower), and one they cannot tell (the floor writes no rows).
CLAIM = {
    "source": "the test's own claim",
    "baseline": "fixed-2ms",
    "optimized": "fixed-6ms",
    "rows": [
        {"metric": "latency_all_mean_ms", "baseline": 2.0, "optimized": 6.0},
        {"metric": "db_rows_written_per_s", "baseline": 450.0, "optimized": 3200.0},
    ],
}
ATTEMPTS = 2  # a run the loaded machine made invalid (a lagging generator) is run once more

_built: dict[str, list[Path]] = {}


def _run_once(delay: str, out: Path) -> Path:
    command = [
        sys.executable,
        "-m",
        "bench",
        "run",
        "--target",
        "floor",
        *RUN_ARGS,
        "--floor-delay",
        delay,
        "--out",
        str(out),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip().splitlines()[-1])


def manifest(run: Path) -> Manifest:
    return read_manifest(run)


def write_manifest(run: Path, content: Manifest) -> None:
    write_struct(run / files.MANIFEST, content)


def _valid_run(delay: str, out: Path) -> Path:
    for _ in range(ATTEMPTS):
        run = _run_once(delay, out)
        found = manifest(run)
        if found.complete and found.validity is not None and found.validity.valid:
            return run
        aside = out.parent / "invalid"  # kept for a look, out of the report's way
        aside.mkdir(exist_ok=True)
        run.rename(aside / run.name)
    raise AssertionError(f"no valid {delay} run in {ATTEMPTS} attempts: {found.validity}")


def experiment_section(arm: str, repetition: int) -> ExperimentTag:
    names = list(ARMS)
    return ExperimentTag(
        name="floor-delay",
        arm=arm,
        arm_index=names.index(arm),
        repetition=repetition,
        repeats=REPEATS,
        arms=names,
        baseline=names[0],
        slos=[PASSING_SLO, FAILING_SLO],
        aa=False,
        definition={
            "name": "floor-delay",
            "repeats": REPEATS,
            "arms": [{"name": name, "target": "floor", "floor_delay": delay} for name, delay in ARMS.items()],
            "claim": CLAIM,
        },
    )


def floor_runs(factory: pytest.TempPathFactory) -> list[Path]:
    """The four run directories (built on first use in the session), under <tmp>/runs."""
    if "runs" not in _built:
        out = factory.mktemp("report-runs") / "runs"
        runs = []
        for repetition in range(REPEATS):
            for arm, delay in ARMS.items():  # interleaved: A B A B
                run = _valid_run(delay, out)
                found = manifest(run)
                write_manifest(run, msgspec.structs.replace(found, experiment=experiment_section(arm, repetition)))
                runs.append(run)
        checked = DataChecks(checked=True, checks=[DataCheck("no overdraft", True, "no account below zero")])
        write_struct(runs[0] / files.DATA_CHECKS, checked)
        write_struct(runs[1] / files.DATA_CHECKS, not_checked("the floor keeps no state"))
        _built["runs"] = runs
    return _built["runs"]
