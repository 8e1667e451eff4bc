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


def headless_argv(
    locustfile: Path, *, host: str, users: int, spawn_rate: float, csv_prefix: Path, json_prefix: Path, processes: int
) -> list[str]:
    """Plain headless Locust on `locustfile`, CSVs and JSON to the prefixes; the file's own options go after."""
    argv = [
        sys.executable,
        "-m",
        "locust",
        *("-f", str(locustfile)),
        "--headless",
        *("--host", host),
        *("--users", str(users)),
        *("--spawn-rate", f"{spawn_rate:g}"),
        *("--csv", str(csv_prefix)),
        *("--json-file", str(json_prefix)),
        "--only-summary",
        *("--exit-code-on-error", "0"),  # failed requests are results; the harness judges the run
    ]
    if processes > 1:
        argv += ["--processes", str(processes)]
    return argv


def locust_argv(load: LoadSettings, *, host: str, run: RunDirectory, keys_dir: Path) -> list[str]:
    think_min, think_max = load.think_time
    return [
        *headless_argv(
            SCENARIOS[load.scenario],
            host=host,
            users=load.users,
            spawn_rate=load.spawn_rate,
            csv_prefix=run.locust / "locust",
            json_prefix=run.locust / "stats",
            processes=load.processes,
        ),
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


def start_locust(
    load: LoadSettings, *, host: str, run: RunDirectory, keys_dir: Path, cpus: frozenset[int] | None = None
) -> Popen[bytes]:
    """Start Locust headless; with `cpus`, its master and every worker it forks run only there."""
    argv = locust_argv(load, host=host, run=run, keys_dir=keys_dir)
    (run.locust / "command.txt").write_text(" ".join(argv) + "\n")
    return spawn(argv, env=dict(os.environ), log_path=run.locust / "locust.log", cpus=cpus)
