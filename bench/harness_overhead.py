"""Harness overhead: requests/s of the floor target driven by `bench run` vs plain Locust.

    python -m bench.harness_overhead --users 64 --processes 1 --rounds 6

Each round runs both, in alternating order (plain, bench; then bench, plain; ...) so that
drift of a shared machine hits both alike:

- plain: `locust` with the trivial FastHttpUser of scenarios/endpoint.py (GET /accounts/{id}
  with a random seeded id, no think time) against a freshly started floor target;
- bench: `bench run --target floor --scenario banking --mix read-heavy --think-time 0` with
  the same users and Locust processes: recording, sampling, the scenario's mix.

Both count only the steady state (after the same warm-up). Prints each round's figures,
and the median ratio bench / plain with its bootstrap 95% interval over rounds.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
from rich.console import Console
from rich.table import Table
from scipy.stats import bootstrap

from bench.infra.processes import stop_process_tree
from bench.infra.target_process import start_target
from bench.seed.keys import write_keys
from scenarios.catalog import ACCOUNT_KEYS
from targets.common.dataset import Dataset, SeedSpec
from targets.registry import get_target

ENDPOINT_SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "endpoint.py"
DEADLINE_MARGIN = 120.0  # seconds a run may take beyond its planned time before it is stopped


@dataclass(frozen=True)
class Round:
    plain_rps: float
    bench_rps: float
    bench_valid: bool

    @property
    def ratio(self) -> float:
        return self.bench_rps / self.plain_rps


def steady_rate_from_history(history: Path, warmup: float) -> float:
    """Requests/s of Locust's Aggregated row between the end of the warm-up and the last row."""
    with history.open() as file:
        rows = [(int(row["Timestamp"]), int(row["Total Request Count"])) for row in csv.DictReader(file)
                if row["Name"] == "Aggregated" and int(row["Total Request Count"]) > 0]  # fmt: skip
    if len(rows) < 2:
        raise click.ClickException(f"{history} holds fewer than two rows of counts")
    start_time = rows[0][0] + warmup
    steady = [row for row in rows if row[0] >= start_time]
    if len(steady) < 2:
        raise click.ClickException(f"{history}: no steady state after a {warmup:g} s warm-up")
    (t0, n0), (t1, n1) = steady[0], steady[-1]
    return (n1 - n0) / (t1 - t0)


def run_plain(users: int, processes: int, duration: float, warmup: float, work: Path) -> float:
    keys = work / "keys"
    write_keys(Dataset(SeedSpec(5000, 1, 1000, 0, 1)), keys)
    target = start_target(get_target("floor"), settings_env={"BENCH_FLOOR_DELAY": "none"}, log_dir=work)
    prefix = work / "plain"
    argv = [sys.executable, "-m", "locust", "-f", str(ENDPOINT_SCENARIO), "--headless",
            "--host", target.base_url, "--users", str(users), "--spawn-rate", str(users),
            "--run-time", f"{warmup + duration:g}s", "--csv", str(prefix), "--only-summary",
            "--stop-timeout", "5"]  # fmt: skip
    if processes > 1:
        argv += ["--processes", str(processes)]
    env = {**os.environ, "BENCH_ENDPOINT": "get_account", "BENCH_KEYS_FILE": str(keys / ACCOUNT_KEYS)}
    try:
        with (work / "plain.log").open("w") as log:
            locust = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
            try:
                locust.wait(timeout=warmup + duration + DEADLINE_MARGIN)
            finally:
                stop_process_tree(locust)
    finally:
        target.stop()
    return steady_rate_from_history(Path(f"{prefix}_stats_history.csv"), warmup)


def run_bench(users: int, processes: int, duration: float, warmup: float, work: Path) -> tuple[float, bool]:
    argv = [sys.executable, "-m", "bench", "run", "--target", "floor", "--scenario", "banking",
            "--mix", "read-heavy", "--think-time", "0", "--users", str(users), "--spawn-rate", str(users),
            "--processes", str(processes), "--duration", f"{duration:g}s", "--warmup", f"{warmup:g}s",
            "--visibility-share", "0", "--no-seed", "--out", str(work)]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=warmup + duration + DEADLINE_MARGIN)
    if result.returncode != 0:
        raise click.ClickException(f"bench run failed ({result.returncode}):\n{result.stderr[-2000:]}")
    run = Path(result.stdout.strip().splitlines()[-1])
    steady = json.loads((run / "histograms" / "steady.json").read_text())
    manifest = json.loads((run / "manifest.json").read_text())
    return steady["latency"]["all"]["count"] / steady["seconds_measured"], bool(manifest["validity"]["valid"])


def median_interval(ratios: list[float]) -> tuple[float, float] | None:
    if len(ratios) < 3:
        return None
    result = bootstrap((np.array(ratios),), np.median, confidence_level=0.95, method="percentile", random_state=1)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


@click.command()
@click.option("--users", type=click.IntRange(1, 10_000), default=64, show_default=True)
@click.option("--processes", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--duration", type=click.FloatRange(5, 3600), default=20.0, show_default=True, help="Seconds measured.")
@click.option("--warmup", type=click.FloatRange(1, 600), default=5.0, show_default=True, help="Seconds left out.")
@click.option("--rounds", type=click.IntRange(1, 100), default=6, show_default=True)
def main(users: int, processes: int, duration: float, warmup: float, rounds: int) -> None:
    console = Console(stderr=True, highlight=False)
    results = []
    with tempfile.TemporaryDirectory(prefix="cqrsb-overhead-") as temporary:
        work = Path(temporary)
        for index in range(rounds):
            order = ("plain", "bench") if index % 2 == 0 else ("bench", "plain")
            measured: dict[str, tuple[float, bool]] = {}
            for kind in order:
                directory = work / f"{index}-{kind}"
                directory.mkdir()
                if kind == "plain":
                    measured[kind] = (run_plain(users, processes, duration, warmup, directory), True)
                else:
                    measured[kind] = run_bench(users, processes, duration, warmup, directory)
            round_ = Round(measured["plain"][0], measured["bench"][0], measured["bench"][1])
            results.append(round_)
            console.print(f"round {index + 1}/{rounds} ({' then '.join(order)}): plain {round_.plain_rps:,.0f} "
                          f"req/s, bench {round_.bench_rps:,.0f} req/s, ratio {round_.ratio:.1%}")  # fmt: skip
    table = Table(title=f"Harness overhead: floor, {users} users, {processes} Locust process(es), {duration:g} s")
    # Both saturate their Locust process on purpose (no think time): that is what is compared.
    for column in ("round", "plain req/s", "bench run req/s", "bench / plain", "bench run verdict"):
        table.add_column(column, justify="right")
    for index, round_ in enumerate(results, 1):
        table.add_row(str(index), f"{round_.plain_rps:,.0f}", f"{round_.bench_rps:,.0f}", f"{round_.ratio:.1%}",
                      "valid" if round_.bench_valid else "invalid (generator saturated, as intended)")  # fmt: skip
    Console(width=None if sys.stdout.isatty() else 140).print(table)
    ratios = [round_.ratio for round_ in results]
    interval = median_interval(ratios)
    spread = f", 95% CI {interval[0]:.1%} .. {interval[1]:.1%}" if interval else ""
    print(f"median bench / plain: {statistics.median(ratios):.1%}{spread} over {len(ratios)} rounds")


if __name__ == "__main__":
    main()
