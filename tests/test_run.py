"""`bench run` as a user runs it: real targets, real servers, real Locust, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psutil
import pytest

from bench.infra.postgres import create_database, drop_database
from bench.infra.probe import wait_until
from bench.infra.stack import Infrastructure
from bench.infra.target_process import RunningTarget, start_target
from bench.run.loadgen import locust_env
from bench.rundir import files
from bench.rundir.columns import Component
from bench.rundir.files import ALL
from bench.rundir.manifest import CountCheck, Manifest
from bench.rundir.phases import Phase
from bench.rundir.read import read_manifest, read_phases, read_steady
from bench.rundir.steady import SteadySummary
from bench.rundir.validity import EndKind
from scenarios.probes import PROBES
from targets.common.endpoints import CONTRACT
from targets.registry import get_target
from tests.cli_support import BenchCli
from tests.conftest import target_settings

pytestmark = pytest.mark.timeout(150)

SHORT = ["--users", "20", "--spawn-rate", "20", "--think-time", "0..50ms", "--warmup", "2s", "--duration", "8s"]
RUN_FILES = (
    files.TIMESERIES,
    files.LATENCY,
    files.INTERVALS,
    files.STEADY,
    "locust/locust_stats.csv",
    files.LOCUST_STATS,
    files.PROCESS_SAMPLES,
    "keys/accounts.txt",
)
SMALL_SEED = ["--accounts", "50", "--entries", "20", "--customers", "10", "--orders", "100"]


def bench_process(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, timeout=timeout)


def run_dir_of(result: subprocess.CompletedProcess[str]) -> Path:
    lines = result.stdout.strip().splitlines()
    assert lines, f"bench run printed no run directory; stderr:\n{result.stderr}"
    return Path(lines[-1])


def manifest(run: Path) -> Manifest:
    return read_manifest(run)


def steady_of(run: Path) -> SteadySummary:
    steady = read_steady(run)
    assert steady is not None, f"{run} has no {files.STEADY}"
    return steady


def assert_counts_match(run: Path) -> CountCheck:
    checks = manifest(run).checks
    assert checks is not None
    assert checks.histogram_requests == checks.locust_requests, checks
    assert checks.locust_requests
    return checks


def assert_complete(result: subprocess.CompletedProcess[str]) -> Path:
    assert result.returncode == 0, result.stderr
    run = run_dir_of(result)
    found = manifest(run)
    assert found.complete is True, found.ended
    assert found.status == "complete"
    assert found.ended is not None
    assert found.ended.kind is EndKind.FINISHED
    for name in RUN_FILES:
        assert (run / name).is_file(), name
    assert found.phases is not None
    assert found.phases.phase is Phase.DONE
    assert found.validity is not None
    assert found.ended_at is not None
    assert found.software.packages["locust"]
    assert_counts_match(run)
    steady = steady_of(run)
    assert steady.seconds_measured >= 7
    assert steady.latency[ALL].count > 0
    return run


def test_a_short_run_on_floor_leaves_a_complete_run_directory(tmp_path: Path) -> None:
    """With two Locust processes: the workers' histograms are merged on the master."""
    result = bench_process(
        "run", "--target", "floor", "--scenario", "mixed", *SHORT, "--processes", "2", "--out", str(tmp_path)
    )
    run = assert_complete(result)
    found = manifest(run)
    assert found.validity is not None
    assert found.validity.measures.generator_cpu is not None
    processes = [sample.process for sample in found.validity.measures.generator_cpu]
    assert sum("master" in name for name in processes) == 1
    assert sum("worker" in name for name in processes) == 2
    assert set(found.validity.measures.loop_lag_p90_of_per_second_max_ms or {}) == {0, 1}
    lag = pd.read_csv(run / files.LOOP_LAG)
    assert lag["gc_pause_ms"].min() >= 0
    assert lag["gc_pause_ms"].sum() > 0, "the workers' garbage collections were timed"
    assert "postgres" not in (found.infrastructure or {})
    timeseries = (run / "timeseries.csv").read_text()
    assert ",steady," in timeseries
    assert "Latency, steady state" in result.stderr
    assert "GET /accounts/{id}/statement" in result.stderr
    sent = set(steady_of(run).latency) - {ALL}
    assert sent, "no request measured"
    assert sent <= {endpoint.name for endpoint in CONTRACT} | {probe.name for probe in PROBES}, sent


def test_a_short_run_on_crud_seeds_and_measures_the_database(tmp_path: Path) -> None:
    result = bench_process(
        "run",
        "--target",
        "crud",
        "--scenario",
        "banking",
        "--mix",
        "write-heavy",
        *SHORT,
        *SMALL_SEED,
        "--out",
        str(tmp_path),
    )
    run = assert_complete(result)
    found = manifest(run)
    assert found.seed_data is not None
    assert found.seed_data.rows is not None
    assert found.seed_data.rows["ledger_entries"] == 50 * 20
    assert found.infrastructure is not None
    assert found.infrastructure["postgres"].version
    assert found.observability is not None
    assert found.observability[Component.POSTGRES].observed
    header = (run / "timeseries.csv").read_text().splitlines()[0]
    assert "commits_per_s" in header
    assert "postgres_uss_mib" in header
    assert "Visibility (banking)" in result.stderr


def test_the_open_model_achieves_the_asked_rate_on_floor(tmp_path: Path) -> None:
    result = bench_process(
        "run",
        "--target",
        "floor",
        "--scenario",
        "banking",
        "--rate",
        "100",
        "--warmup",
        "2s",
        "--duration",
        "10s",
        "--out",
        str(tmp_path),
    )
    run = assert_complete(result)
    validity = manifest(run).validity
    assert validity is not None
    assert validity.measures.achieved_rate == pytest.approx(100, rel=0.03)
    steady = steady_of(run)
    intended, sent = steady.intended[ALL], steady.latency[ALL]
    assert intended.count == sent.count
    assert intended.p50_ms >= sent.p50_ms


@pytest.fixture
def crud_target(infra: Infrastructure, tmp_path: Path) -> Iterator[RunningTarget]:
    assert infra.postgres is not None
    dsn = create_database(infra.postgres.admin_dsn)
    target = start_target(get_target("crud"), settings_env=target_settings(infra, dsn), log_dir=tmp_path)
    try:
        yield target
    finally:
        target.stop()
        drop_database(infra.postgres.admin_dsn, dsn)


def test_host_drives_a_separately_started_target(crud_target: RunningTarget, tmp_path: Path) -> None:
    result = bench_process(
        "run",
        "--host",
        crud_target.base_url,
        "--scenario",
        "orders",
        *SHORT,
        "--accounts",
        "10",
        "--entries",
        "2",
        "--customers",
        "5",
        "--orders",
        "20",
        "--out",
        str(tmp_path / "runs"),
    )
    run = assert_complete(result)
    found = manifest(run)
    assert found.settings.host == crud_target.base_url
    assert found.observability is not None
    assert not found.observability[Component.TARGET].observed
    assert found.seed_data is not None
    assert found.seed_data.through_api is True
    assert len((run / "keys" / "orders.txt").read_text().split()) == 20


def test_host_with_the_keys_of_bench_seed(crud_target: RunningTarget, tmp_path: Path) -> None:
    dsn = crud_target.settings_env["BENCH_PG_DSN"]
    seeded = bench_process("seed", "--target", "crud", "--pg-dsn", dsn, *SMALL_SEED, "--out", str(tmp_path / "keys"))
    assert seeded.returncode == 0, seeded.stderr
    assert "50 accounts, 1,000 ledger_entries, 100 orders" in seeded.stderr
    assert seeded.stdout.strip() == str(tmp_path / "keys")
    result = bench_process(
        "run",
        "--host",
        crud_target.base_url,
        "--scenario",
        "banking",
        "--keys",
        str(tmp_path / "keys"),
        *SHORT[:-4],
        "--warmup",
        "1s",
        "--duration",
        "8s",
        "--out",
        str(tmp_path / "runs"),
    )
    run = assert_complete(result)
    seed_data = manifest(run).seed_data
    assert seed_data is not None
    assert seed_data.keys_from == str(tmp_path / "keys")
    assert steady_of(run).latency[ALL].failures == 0, "every key read should exist in the seeded database"


def _start_long_run(tmp_path: Path, target: str) -> tuple[subprocess.Popen[str], list[psutil.Process]]:
    argv = [
        sys.executable,
        "-m",
        "bench",
        "run",
        "--target",
        target,
        "--scenario",
        "banking",
        *SHORT[:-1],
        "5m",
        "--out",
        str(tmp_path),
    ]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def steady() -> bool:
        found = [read_phases(path.parent) for path in tmp_path.glob(f"*/{files.PHASES}")]
        return bool(found) and found[0] is not None and found[0].phase is Phase.STEADY

    wait_until(steady, timeout=90, what="the run's steady state")
    return process, psutil.Process(process.pid).children(recursive=True)


def _assert_left_nothing(descendants: list[psutil.Process]) -> None:
    assert descendants
    wait_until(
        lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in descendants),
        timeout=30,
        what="every process of the run to exit",
    )


def _assert_partial(stdout: str) -> Path:
    run = Path(stdout.strip().splitlines()[-1])
    found = manifest(run)
    assert found.complete is False
    assert found.status == "incomplete"
    assert found.validity is not None
    assert found.validity.valid is False
    assert_counts_match(run)
    assert (run / "timeseries.csv").is_file()
    return run


def test_ctrl_c_keeps_what_was_measured_and_leaves_no_process(tmp_path: Path) -> None:
    process, descendants = _start_long_run(tmp_path, "floor")
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    run = _assert_partial(stdout)
    ended = manifest(run).ended
    assert ended is not None
    assert (ended.kind, ended.detail) == (EndKind.INTERRUPTED, "interrupted by Ctrl-C")
    _assert_left_nothing(descendants)


def test_a_killed_target_ends_the_run_with_a_clear_message(tmp_path: Path) -> None:
    process, descendants = _start_long_run(tmp_path, "floor")
    uvicorn = next(p for p in descendants if "uvicorn" in " ".join(p.cmdline()))
    os.kill(uvicorn.pid, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "target floor was killed by signal 9 during the run" in stderr
    assert "What was measured so far is in" in stderr
    run = _assert_partial(stdout)
    ended = manifest(run).ended
    assert ended is not None
    assert ended.kind is EndKind.TARGET_DIED
    assert ended.detail.startswith("target floor was killed by signal 9")
    _assert_left_nothing(descendants)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--target", "floor", "--scenario", "nope"], "'nope' is not one of"),
        (["--target", "floor", "--scenario", "banking", "--users", "-5"], "-5 is not in the range 1<=x<=100000"),
        (["--scenario", "banking"], "expected either --target NAME"),
        (["--target", "floor", "--host", "http://x", "--scenario", "banking"], "expected either --target NAME"),
        (
            ["--target", "floor", "--scenario", "banking", "--rate", "5000", "--users", "2"],
            "the rate needs at least 5 users",
        ),
        (
            ["--target", "floor", "--scenario", "banking", "--rate", "50", "--think-time", "1s..2s"],
            "--think-time belongs to the closed model",
        ),
        (["--target", "floor", "--scenario", "banking", "--duration", "soon"], "is not a duration; expected e.g. 30s"),
        (["--target", "floor", "--scenario", "banking", "--skew", "zipf:-1"], "expected 'uniform' or 'zipf:S'"),
        (["--target", "floor", "--scenario", "banking", "--think-time", "9s..1s"], "expected MIN <= MAX"),
        (["--host", "localhost:80", "--scenario", "banking"], "expected the base URL of a service"),
        (["--host", "http://127.0.0.1:9", "--scenario", "banking", "--no-seed"], "needs --keys DIR"),
    ],
)
def test_bad_arguments_exit_2_with_a_sentence(bench: BenchCli, args: list[str], expected: str) -> None:
    result = bench("run", *args)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr


@pytest.mark.parametrize(
    ("host", "base", "resolver"),
    [
        ("http://127.0.0.1:8000", {}, "block"),  # a literal: getaddrinfo looks nothing up, no thread needed
        ("http://[::1]:8000", {}, "block"),
        ("http://target.example:8000", {}, None),  # a name may wait on DNS: gevent's thread pool stays
        ("http://127.0.0.1:8000", {"GEVENT_RESOLVER": "ares"}, "ares"),  # the user's choice wins
    ],
)
def test_locust_resolves_in_its_own_loop_only_for_an_address_literal(
    host: str, base: dict[str, str], resolver: str | None
) -> None:
    env = locust_env(host, {"PATH": "/bin", **base})
    assert env.get("GEVENT_RESOLVER") == resolver
    assert env["PATH"] == "/bin"
