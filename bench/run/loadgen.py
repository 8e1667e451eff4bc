"""Starting Locust for a run: headless, the scenario's locustfile, its options, output into the run directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from subprocess import Popen

from bench.infra.processes import spawn
from bench.run.rundir import RunDirectory
from bench.run.settings import LoadSettings
from scenarios.catalog import SCENARIOS


def locust_argv(load: LoadSettings, *, host: str, run: RunDirectory, keys_dir: Path) -> list[str]:
    think_min, think_max = load.think_time
    argv = [
        sys.executable,
        "-m",
        "locust",
        *("-f", str(SCENARIOS[load.scenario])),
        "--headless",
        *("--host", host),
        *("--users", str(load.users)),
        *("--spawn-rate", f"{load.spawn_rate:g}"),
        *("--csv", str(run.locust / "locust")),
        *("--json-file", str(run.locust / "stats")),
        "--only-summary",
        *("--exit-code-on-error", "0"),  # failed requests are results; the harness judges the run
        *("--bench-keys", str(keys_dir)),
        *("--bench-out", str(run.path)),
        *("--bench-mix", load.mix),
        *("--bench-skew", str(load.skew)),
        *("--bench-think-min", f"{think_min:g}", "--bench-think-max", f"{think_max:g}"),
        *("--bench-rate", f"{load.rate or 0:g}"),
        *("--bench-visibility-share", f"{load.visibility_share:g}"),
        *("--bench-seed", str(load.seed)),
        *("--bench-warmup", f"{load.warmup:g}"),
        *("--bench-duration", f"{load.duration:g}"),
    ]
    if load.processes > 1:
        argv += ["--processes", str(load.processes)]
    return argv


def start_locust(load: LoadSettings, *, host: str, run: RunDirectory, keys_dir: Path) -> Popen[bytes]:
    argv = locust_argv(load, host=host, run=run, keys_dir=keys_dir)
    (run.locust / "command.txt").write_text(" ".join(argv) + "\n")
    return spawn(argv, env=dict(os.environ), log_path=run.locust / "locust.log")
