"""`bench benchmark targets`: the benchmark the targets are judged by, run briefly for real (wrk, pgbench, servers)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec
import pytest
from click.testing import Result

from bench.benchmarks.errors import BenchmarkError
from bench.benchmarks.judge_results import PGBENCH, TargetsBenchmark
from bench.benchmarks.pgbench import with_variables
from bench.benchmarks.wrk import WrkJob, parse_result, run_wrk, wrk_binary, wrk_version
from bench.infra.stack import Infrastructure
from tests.cli_support import BenchCli
from tests.test_benchmarks import NO_SERVERS, servers

needs_wrk = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not on PATH (Debian: apt-get install wrk; .ci/run installs it)"
)


class _Answers(BaseHTTPRequestHandler):
    """200 under /ok/ and 404 elsewhere, keep-alive, so that wrk's connections stay open."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b"{}"
        self.send_response(200 if self.path.startswith("/ok/") else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def answering() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)  # the OS picks a free port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@needs_wrk
@pytest.mark.timeout(30)
@pytest.mark.parametrize(("path", "succeeds"), [("/ok/{id}", True), ("/missing/{id}", False)])
def test_wrk_counts_every_answer_that_is_not_2xx_as_an_error(
    answering: str, tmp_path: Path, path: str, succeeds: bool
) -> None:
    binary = wrk_binary()
    assert binary is not None
    ids = tmp_path / "ids.txt"
    ids.write_text("a\nb\nc\n")
    job = WrkJob(answering, "GET", path, ids, connections=2, threads=1, seconds=1)
    measured = run_wrk(binary, job, log=tmp_path / "wrk.log", watch={}, version=wrk_version(binary))
    assert measured.requests > 0
    assert measured.errors == (0 if succeeds else measured.requests)
    assert measured.requests_per_second > 0
    assert 0 < measured.latency.p50_ms <= measured.latency.p90_ms <= measured.latency.p99_ms
    assert measured.generator.startswith("wrk ")
    # The parser reads the same line back from wrk's real output.
    parsed = parse_result((tmp_path / "wrk.log").read_text())
    assert parsed.requests == measured.requests


def test_wrk_output_without_the_result_line_is_an_error() -> None:
    with pytest.raises(BenchmarkError, match="no WRK-RESULT line"):
        parse_result("Running 1s test @ http://127.0.0.1:1\n")


def test_a_changed_statement_is_refused_not_run_with_wrong_parameters() -> None:
    assert with_variables("SELECT $1, $2", {1: ":a", 2: "NULL"}) == "SELECT :a, NULL"
    with pytest.raises(BenchmarkError, match=r"takes parameters \[1, 2, 3\]"):
        with_variables("SELECT $1, $2, $3", {1: ":a", 2: ":b"})


def _small_benchmark(
    bench: BenchCli, infra: Infrastructure, tmp_path: Path, *args: str
) -> tuple[Result, TargetsBenchmark]:
    """`bench benchmark targets` on 4 connections and 8 accounts, with no warm-up: its result and its JSON."""
    out = tmp_path / "results.json"
    small = ["--warmup", "0", "--connections", "4", "--threads", "1", "--accounts", "8", *args]
    result = bench("benchmark", "targets", *small, *servers(infra), "--json", str(out))
    assert out.exists(), result.output[-3000:]
    return result, msgspec.json.decode(out.read_bytes(), type=TargetsBenchmark)


@needs_wrk
@pytest.mark.timeout(90)
def test_the_benchmark_measures_every_row_and_its_ratios_come_from_them(
    bench: BenchCli, infra: Infrastructure, tmp_path: Path
) -> None:
    result, found = _small_benchmark(bench, infra, tmp_path, "--seconds", "2", "--deposits", "1")
    assert result.exit_code == 0, result.output[-3000:]
    assert [row.id for row in found.rows] == [
        "floor.health",
        "crud.get_account",
        "crud.statement",
        "crud.deposit",
        f"{PGBENCH}.crud_deposit",
        "cqrs.get_account",
        "cqrs.statement",
        "cqrs.deposit",
        f"{PGBENCH}.cqrs_append",
    ]
    for row in found.rows:
        m = row.measured
        assert m.requests > 0, row.id
        assert m.errors == 0, f"{row.id}: {m.detail}"
        assert m.requests_per_second > 0, row.id
        assert 0 < m.latency.p50_ms <= m.latency.p90_ms <= m.latency.p99_ms, row.id
        assert m.cpu["generator"].samples > 0, row.id
        assert row.connections == 4
    assert found.valid
    assert found.problems == []
    assert found.http_generator.startswith("wrk ")
    assert found.http_generator_limit == ""
    by_id = {row.id: row.measured for row in found.rows}
    assert len(found.ratios) == 9, "every ratio but the hot account's"
    for ratio in found.ratios:
        numerator, denominator = by_id[ratio.numerator], by_id[ratio.denominator]
        if "latency" in ratio.name:
            expected = max(
                numerator.latency.p50_ms / denominator.latency.p50_ms,
                numerator.latency.p90_ms / denominator.latency.p90_ms,
                numerator.latency.p99_ms / denominator.latency.p99_ms,
            )
            assert ratio.met == (ratio.value < 1)
        else:
            expected = numerator.requests_per_second / denominator.requests_per_second
            if ratio.goal:
                assert ratio.met == (ratio.value >= float(ratio.goal.removeprefix(">= ")))
        assert ratio.value == pytest.approx(expected), ratio.name
    assert "cqrs deposit / pgbench cqrs append" in result.stdout
    assert "pgbench ran after each target's HTTP rows, with the target stopped" in result.stdout


@pytest.mark.timeout(120)
def test_without_wrk_locust_drives_every_row_and_its_limit_is_stated(
    bench: BenchCli, infra: Infrastructure, tmp_path: Path
) -> None:
    result, found = _small_benchmark(bench, infra, tmp_path, "--seconds", "1", "--generator", "locust")
    assert found.http_generator.startswith("locust ")
    assert "tops out" in found.http_generator_limit
    http_rows = [row for row in found.rows if not row.id.startswith(PGBENCH)]
    assert len(http_rows) == 7
    for row in http_rows:
        assert row.measured.requests > 0, row.id
        assert row.measured.errors == 0, f"{row.id}: {row.measured.detail}"
    # Locust on one shared core may saturate: then the run says so and fails, for that reason only.
    saturated = [row.id for row in http_rows if row.measured.saturated]
    assert found.problems == [
        f"{row.id} ({row.name}): the load generator saturated its CPU; its latencies are its own"
        for row in http_rows
        if row.measured.saturated
    ]
    assert (result.exit_code == 0) == (not saturated), result.output[-3000:]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--connections", "4", "--accounts", "2"], "--accounts 2: expected at least --connections (4)"),
        (["--connections", "2", "--threads", "3"], "--threads 3: expected at most --connections (2)"),
        (["--generator", "ab"], "'ab' is not one of"),
        (["--seconds", "0"], "0 is not in the range 1<=x<=3600"),
    ],
)
def test_bad_arguments_exit_2_with_a_sentence(bench: BenchCli, args: list[str], expected: str) -> None:
    result = bench("benchmark", "targets", *args, env=NO_SERVERS)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
