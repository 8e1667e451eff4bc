"""Real run directories for the report tests: short floor runs with a known synthetic delay, made once a session.

Two arms (fixed:2ms and fixed:6ms), two repetitions each, interleaved; then the experiment
section written into each manifest as `bench compare` writes it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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


def manifest(run: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((run / "manifest.json").read_text())
    return loaded


def write_manifest(run: Path, content: dict[str, Any]) -> None:
    (run / "manifest.json").write_text(json.dumps(content, indent=2) + "\n")


def _valid_run(delay: str, out: Path) -> Path:
    for _ in range(ATTEMPTS):
        run = _run_once(delay, out)
        found = manifest(run)
        if found["complete"] and found["validity"]["valid"]:
            return run
        aside = out.parent / "invalid"  # kept for a look, out of the report's way
        aside.mkdir(exist_ok=True)
        run.rename(aside / run.name)
    raise AssertionError(f"no valid {delay} run in {ATTEMPTS} attempts: {found['validity']['reasons']}")


def experiment_section(arm: str, repetition: int) -> dict[str, Any]:
    names = list(ARMS)
    return {
        "name": "floor-delay",
        "arm": arm,
        "arm_index": names.index(arm),
        "repetition": repetition,
        "repeats": REPEATS,
        "arms": names,
        "baseline": names[0],
        "slos": [PASSING_SLO, FAILING_SLO],
        "aa": False,
        "definition": {
            "name": "floor-delay",
            "repeats": REPEATS,
            "arms": [{"name": name, "target": "floor", "floor_delay": delay} for name, delay in ARMS.items()],
        },
    }


def floor_runs(factory: pytest.TempPathFactory) -> list[Path]:
    """The four run directories (built on first use in the session), under <tmp>/runs."""
    if "runs" not in _built:
        out = factory.mktemp("report-runs") / "runs"
        runs = []
        for repetition in range(REPEATS):
            for arm, delay in ARMS.items():  # interleaved: A B A B
                run = _valid_run(delay, out)
                found = manifest(run)
                found["experiment"] = experiment_section(arm, repetition)
                write_manifest(run, found)
                runs.append(run)
        checked: dict[str, Any] = {
            "checked": True,
            "passed": True,
            "why_not_checked": None,
            "checks": [{"name": "no overdraft", "passed": True, "detail": "no account below zero"}],
        }
        (runs[0] / "invariants.json").write_text(json.dumps(checked))
        unchecked: dict[str, Any] = {
            "checked": False,
            "passed": None,
            "checks": [],
            "why_not_checked": "the floor keeps no state",
        }
        (runs[1] / "invariants.json").write_text(json.dumps(unchecked))
        _built["runs"] = runs
    return _built["runs"]
