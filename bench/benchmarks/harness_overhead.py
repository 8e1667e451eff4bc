"""Harness overhead: requests/s of the floor target driven by `bench run` vs plain Locust.

    bench benchmark harness_overhead --users 64 --processes 1 --rounds 6

Each round runs both, in alternating order (plain, bench; then bench, plain; ...) so that
drift of a shared machine hits both alike:

- plain: `locust` with the trivial FastHttpUser of scenarios/endpoint.py (GET /accounts/{id}
  with a random seeded id, no think time) against a freshly started floor target;
- bench: `bench run --target floor --scenario banking --mix read-heavy --think-time 0` with
  the same users and Locust processes: recording, sampling, the scenario's mix.

Both count only the steady state (after the same warm-up). Reports each round's figures, and
the median ratio bench / plain with its bootstrap 95% interval over rounds. Both saturate their
Locust processes on purpose (no think time): that is what is compared.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import msgspec
from rich.table import Table

from bench.benchmarks.errors import BenchmarkError, Progress, quiet
from bench.benchmarks.launcher import FINISH_MARGIN, LocustJob, run_locust
from bench.benchmarks.locust_stats import steady_rate
from bench.benchmarks.serve import served
from bench.report.rundata import RunData
from bench.rundir.files import ALL
from bench.seed.keys import write_keys
from bench.stats.bootstrap import median_interval
from scenarios.catalog import ACCOUNT_KEYS, SCENARIO_DIR
from targets.common.dataset import Dataset, SeedSpec

LOCUSTFILE = SCENARIO_DIR / "endpoint.py"
PLAIN, BENCH = "plain", "bench"


class Round(msgspec.Struct, frozen=True):
    order: list[str]
    plain_rps: float
    bench_rps: float
    bench_valid: bool
    ratio: float  # bench / plain


class Overhead(msgspec.Struct, frozen=True):
    users: int
    processes: int
    seconds: float
    warmup: float
    rounds: list[Round]
    median_ratio: float
    ratio_low: float | None  # the bootstrap 95% interval of the median ratio; None with fewer than two rounds
    ratio_high: float | None


def run_plain(users: int, processes: int, duration: float, warmup: float, work: Path) -> float:
    keys = work / "keys"
    write_keys(Dataset(SeedSpec(5000, 1, 1000, 0, 1)), keys)
    with served("floor", log_dir=work, settings={"BENCH_FLOOR_DELAY": "none"}) as floor:
        job = LocustJob(
            LOCUSTFILE,
            host=floor.target.base_url,
            users=users,
            seconds=warmup + duration,
            name=PLAIN,
            processes=processes,
            env={"BENCH_ENDPOINT": "get_account", "BENCH_KEYS_FILE": str(keys / ACCOUNT_KEYS)},
        )
        outcome = run_locust(job, work)
    rate = steady_rate(outcome.entries, warmup)
    if rate is None:
        raise BenchmarkError(f"plain Locust measured no steady state after a {warmup:g} s warm-up: {outcome.log}")
    return rate


def run_bench(users: int, processes: int, duration: float, warmup: float, work: Path) -> tuple[float, bool]:
    argv = [
        *(sys.executable, "-m", "bench", "run", "--target", "floor", "--scenario", "banking"),
        *("--mix", "read-heavy", "--think-time", "0", "--users", str(users), "--spawn-rate", str(users)),
        *("--processes", str(processes), "--duration", f"{duration:g}s", "--warmup", f"{warmup:g}s"),
        *("--visibility-share", "0", "--no-seed", "--out", str(work)),
        "--co-located",  # like the plain Locust it is compared with: what differs is the harness, not the CPUs
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=warmup + duration + FINISH_MARGIN)
    if result.returncode != 0:
        raise BenchmarkError(f"bench run failed ({result.returncode}):\n{result.stderr[-2000:]}")
    run = RunData.load(Path(result.stdout.strip().splitlines()[-1]))
    rate = run.steady.requests_per_second(ALL) if run.steady is not None else None
    return rate or 0.0, run.valid


def table(overhead: Overhead) -> Table:
    shown = Table(
        title=f"Harness overhead: floor, {overhead.users} users, {overhead.processes} Locust process(es), "
        f"{overhead.seconds:g} s"
    )
    for column in ("round", "plain req/s", "bench run req/s", "bench / plain", "bench run verdict"):
        shown.add_column(column, justify="right")
    for index, round_ in enumerate(overhead.rounds, 1):
        verdict = "valid" if round_.bench_valid else "invalid (generator saturated, as intended)"
        shown.add_row(
            str(index), f"{round_.plain_rps:,.0f}", f"{round_.bench_rps:,.0f}", f"{round_.ratio:.1%}", verdict
        )
    return shown


def median_line(overhead: Overhead) -> str:
    spread = (
        f", 95% CI {overhead.ratio_low:.1%} .. {overhead.ratio_high:.1%}"
        if overhead.ratio_low is not None and overhead.ratio_high is not None
        else ""
    )
    return f"median bench / plain: {overhead.median_ratio:.1%}{spread} over {len(overhead.rounds)} rounds"


def measure_overhead(
    *, users: int, processes: int, duration: float, warmup: float, rounds: int, progress: Progress = quiet
) -> Overhead:
    """`rounds` rounds of plain Locust and `bench run` on the floor target, in alternating order."""
    measured = []
    with tempfile.TemporaryDirectory(prefix="cqrsb-overhead-") as temporary:
        work = Path(temporary)
        for index in range(rounds):
            order = [PLAIN, BENCH] if index % 2 == 0 else [BENCH, PLAIN]
            plain_rps, bench_rps, bench_valid = 0.0, 0.0, False
            for kind in order:
                directory = work / f"{index}-{kind}"
                directory.mkdir()
                if kind == PLAIN:
                    plain_rps = run_plain(users, processes, duration, warmup, directory)
                else:
                    bench_rps, bench_valid = run_bench(users, processes, duration, warmup, directory)
            round_ = Round(order, plain_rps, bench_rps, bench_valid, bench_rps / plain_rps)
            measured.append(round_)
            progress(
                f"round {index + 1}/{rounds} ({' then '.join(order)}): plain {plain_rps:,.0f} req/s, "
                f"bench {bench_rps:,.0f} req/s, ratio {round_.ratio:.1%}"
            )
    ratios = [round_.ratio for round_ in measured]
    interval = median_interval(ratios)
    return Overhead(
        users,
        processes,
        duration,
        warmup,
        measured,
        statistics.median(ratios),
        interval.low if interval else None,
        interval.high if interval else None,
    )
