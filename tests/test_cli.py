"""`bench` as a user runs it: its exit codes and messages, and `bench up` as a real process with real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from click.testing import CliRunner

from bench.cli import BenchGroup
from bench.infra.errors import InfraError
from bench.infra.probe import wait_until
from tests.cli_support import BenchCli

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["up"], "Missing option '--target'"),
        (["up", "--target", "nope"], "'nope' is not one of"),
        (["up", "--target", "floor", "--workers", "0"], "0 is not in the range 1<=x<=64"),
        (["up", "--target", "floor", "--port", "70000"], "70000 is not in the range"),
        (["up", "--target", "floor", "--floor-delay", "soon"], "is not a delay; expected"),
        (["up", "--target", "floor", "--floor-delay", "uniform:9ms..1ms"], "low <= high"),
        (["launch"], "No such command 'launch'"),
    ],
)
def test_bad_arguments_exit_2_with_a_sentence(bench: BenchCli, args: list[str], expected: str) -> None:
    result = bench(*args)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr


@dataclass
class Up:
    process: subprocess.Popen[str]
    url: str

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)


StartUp = Callable[..., Up]


@pytest.fixture
def start_up(tmp_path: Path) -> Iterator[StartUp]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, **settings: str) -> Up:
        env = {k: v for k, v in os.environ.items() if k not in ("BENCH_PG_DSN", "BENCH_REDIS_URL")} | settings
        process = subprocess.Popen(
            [sys.executable, "-m", "bench", "up", *args, "--log-dir", str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        started.append(process)
        assert process.stdout is not None
        url = process.stdout.readline().strip()  # the first line, once everything serves
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else ""
        return Up(process, url)

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def _stop_and_check_nothing_left(up: Up, signum: signal.Signals, expected_code: int) -> None:
    children = up.descendants()
    assert children, "bench up should have started a target process"
    up.process.send_signal(signum)
    assert up.process.wait(timeout=60) == expected_code
    wait_until(
        lambda: not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children),
        timeout=30,
        what="bench up's children to exit",
    )


def test_up_floor_serves_and_stops_on_sigint(start_up: StartUp) -> None:
    up = start_up("--target", "floor")
    assert httpx.get(f"{up.url}/health").json() == {"status": "ok", "target": "floor"}
    _stop_and_check_nothing_left(up, signal.SIGINT, 130)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_up_crud_with_embedded_postgres_leaves_nothing_behind(
    start_up: StartUp, signum: signal.Signals, code: int
) -> None:
    up = start_up("--target", "crud", "--workers", "2")
    opened = httpx.post(f"{up.url}/accounts", json={"owner": "cli", "initial_deposit": 5})
    assert opened.status_code == 201
    servers = [p for p in up.descendants() if p.name() == "postgres"]
    assert servers, "an embedded PostgreSQL should run under bench up"
    data_dirs = {Path(arg) for p in servers for arg in p.cmdline() if arg.endswith("/data")}
    _stop_and_check_nothing_left(up, signum, code)
    assert data_dirs
    assert not any(directory.exists() for directory in data_dirs)


def test_up_cqrs_with_postgres_read_models_starts_no_redis(start_up: StartUp) -> None:
    up = start_up("--target", "cqrs", BENCH_CQRS_READ_STORE="postgres")
    names = {p.name() for p in up.descendants()}
    assert "postgres" in names
    assert not any("redis" in name for name in names), names
    opened = httpx.post(f"{up.url}/accounts", json={"owner": "cli", "initial_deposit": 5}).json()
    read = httpx.get(f"{up.url}/accounts/{opened['id']}", params={"min_version": opened["version"]}, timeout=10)
    assert (read.status_code, read.headers.get("x-stale"), read.json()["balance"]) == (200, None, 5)
    assert httpx.get(f"{up.url}/stats").json()["read_store"] == "postgres"
    _stop_and_check_nothing_left(up, signal.SIGINT, 130)


def test_up_reports_a_target_that_cannot_start(bench: BenchCli, tmp_path: Path) -> None:
    result = bench("up", "--target", "floor", "--log-dir", str(tmp_path), env={"BENCH_MAX_BODY_BYTES": "lots"})
    assert result.exit_code == 1, result.output
    assert "error:" in result.stderr
    assert "BENCH_MAX_BODY_BYTES" in result.stderr


def test_the_exit_codes_of_the_console_script_hold_in_process_too() -> None:
    group = BenchGroup()

    @group.command()
    def interrupted() -> None:
        raise KeyboardInterrupt

    @group.command()
    def broken() -> None:
        raise InfraError("PostgreSQL did not start")

    @group.command()
    def terminated() -> None:
        raise SystemExit(143)  # what bench.infra.signals makes of SIGTERM

    runner = CliRunner()
    stopped = runner.invoke(group, ["interrupted"])
    assert (stopped.exit_code, stopped.stderr) == (130, "stopped.\n")
    failed = runner.invoke(group, ["broken"])
    assert (failed.exit_code, failed.stderr) == (1, "error: PostgreSQL did not start\n")
    assert runner.invoke(group, ["terminated"]).exit_code == 143
    assert runner.invoke(group, ["--no-such-option"]).exit_code == 2
