"""Run a load generator to its end with a deadline, sampling the CPU of it and of named process trees."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.benchmarks.cpu import CpuUse, CpuWatch
from bench.benchmarks.errors import BenchmarkError
from bench.infra.logs import log_tail
from bench.infra.processes import spawn, stop_process_tree

GENERATOR = "generator"  # the CPU of the generator's own process tree is reported under this name
SAMPLE_PERIOD = 1.0
FINISH_MARGIN = 30.0  # seconds a generator may take beyond its run time (connecting, reporting)


@dataclass(frozen=True)
class Finished:
    returncode: int
    log: Path  # its stdout and stderr
    cpu: dict[str, CpuUse]  # GENERATOR and every watched tree


def run_watched(
    argv: Sequence[str],
    *,
    seconds: float,
    log: Path,
    watch: Mapping[str, Sequence[int]],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    name: str = GENERATOR,
    margin: float = FINISH_MARGIN,
    error: type[Exception] = BenchmarkError,
) -> Finished:
    """Run `argv`, which stops itself after about `seconds`; stop it and raise `error` if it runs past `margin`.

    Its own CPU is reported under `name`, beside every tree in `watch`.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    process = spawn(argv, env={**os.environ, **(env or {})}, cwd=cwd, log_path=log)
    try:
        cpu = CpuWatch({name: [process.pid], **watch})
        deadline = time.monotonic() + seconds + margin
        while process.poll() is None:
            if time.monotonic() > deadline:
                late = f"{Path(argv[0]).name} ({name}) did not finish within {seconds + margin:g} s."
                raise error(f"{late}\n{log_tail(log)}")
            cpu.sample()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=SAMPLE_PERIOD)  # the sampling period; returns at once when it exits
    finally:
        stop_process_tree(process)
    return Finished(process.returncode, log, cpu.use())
