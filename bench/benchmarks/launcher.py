"""Plain headless Locust on a locustfile: CSV and JSON into a directory, CPU sampled, statistics read back.

The command line is `bench run`'s own (bench/run/loadgen.py), without the recording plugin's options;
Locust stops itself after `--run-time`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.benchmarks.cpu import GENERATOR_CPU_LIMIT, CpuUse
from bench.benchmarks.locust_stats import LocustEntry, read_entries
from bench.benchmarks.watched import run_watched
from bench.infra.errors import InfraError
from bench.infra.logs import log_tail
from bench.run.loadgen import headless_argv
from bench.rundir.steady import Percentiles
from scenarios.hdr import merged, summary

LOCUST = "locust"  # the CPU of Locust's process tree is reported under this name
FINISH_MARGIN = 120.0  # seconds Locust may take beyond its run time (start-up, stop timeout) before it is stopped
STOP_TIMEOUT = 5  # seconds Locust gives running tasks after the run time
SATURATION_WARNING = "CPU usage above 90%"  # what Locust logs when one of its processes saturates


@dataclass(frozen=True)
class LocustJob:
    locustfile: Path
    host: str
    users: int
    seconds: float
    name: str  # prefix of the files in the output directory
    processes: int = 1
    env: Mapping[str, str] = field(default_factory=dict)  # settings of the locustfile
    options: Sequence[str] = ()  # options the locustfile defines
    # The setting under which the locustfile takes a directory to write its processes' HdrHistograms
    # into (scenarios/hdr.py encoding, one file per process); None: it records none.
    histogram_dir_env: str | None = None


@dataclass(frozen=True)
class LocustOutcome:
    entries: list[LocustEntry]
    cpu: dict[str, CpuUse]  # LOCUST and every watched tree
    saturated: bool  # a Locust process used more than GENERATOR_CPU_LIMIT of a core: its latencies are its own
    log: Path
    latency: Percentiles | None  # scenarios.hdr.summary of the merged histograms, if the job records them


def locust_command(job: LocustJob, out_dir: Path) -> list[str]:
    prefix = out_dir / job.name
    return [
        *headless_argv(
            job.locustfile,
            host=job.host,
            users=job.users,
            spawn_rate=job.users,
            csv_prefix=prefix,
            json_prefix=prefix,
            processes=job.processes,
        ),
        *("--run-time", f"{job.seconds:g}s"),
        *("--stop-timeout", str(STOP_TIMEOUT)),
        *job.options,
    ]


def run_locust(job: LocustJob, out_dir: Path, *, watch: Mapping[str, Sequence[int]] | None = None) -> LocustOutcome:
    """Run `job` to its end, sampling the CPU of Locust and of the `watch` trees once a second."""
    out_dir.mkdir(parents=True, exist_ok=True)
    argv = locust_command(job, out_dir)
    (out_dir / f"{job.name}.command.txt").write_text(" ".join(argv) + "\n")
    log = out_dir / f"{job.name}.log"
    histograms = out_dir / f"{job.name}.histograms"
    env = dict(job.env)
    if job.histogram_dir_env is not None:
        env[job.histogram_dir_env] = str(histograms)
    finished = run_watched(
        argv,
        seconds=job.seconds,
        log=log,
        watch=watch or {},
        env=env,
        name=LOCUST,
        margin=FINISH_MARGIN,
        error=InfraError,
    )
    stats = out_dir / f"{job.name}.json"
    if not stats.exists():
        raise InfraError(
            f"Locust wrote no statistics for {job.name} (exit code {finished.returncode}).\n{log_tail(log)}"
        )
    use = finished.cpu
    saturated = use[LOCUST].max_percent > GENERATOR_CPU_LIMIT * job.processes or SATURATION_WARNING in log.read_text()
    latency = None
    if job.histogram_dir_env is not None:
        latency = summary(merged(path.read_text() for path in sorted(histograms.glob("*.hdr"))))
    return LocustOutcome(read_entries(stats), use, saturated, log, latency)
