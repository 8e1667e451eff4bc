"""The report from real floor runs whose latencies differ by a known synthetic delay (fixed:2ms vs fixed:6ms)."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import msgspec
import pytest

from bench.report.build import write_report
from bench.report.document import MetricEntry, Summary, Verdict
from bench.report.format import number
from bench.report.metrics import DB_WRITES, LATENCY_MEAN, MEMORY_NODE, METRICS
from bench.rundir import files
from bench.rundir.files import ALL
from bench.rundir.read import RunDirectoryError, read_steady
from bench.rundir.validity import Ending, EndKind, Finding, FindingKind, Validity
from bench.stats.bootstrap import NOT_ENOUGH
from tests.cli_support import BenchCli
from tests.report_support import ARMS, FAILING_SLO, PASSING_SLO, REPEATS, floor_runs, manifest, write_manifest

pytestmark = pytest.mark.timeout(400)  # the first test waits for four short runs
BASELINE, OTHER = list(ARMS)
HEADLINE_ROWS = ["Average response latency", "Memory footprint / node", "Database write throughput"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return floor_runs(tmp_path_factory)


@pytest.fixture(scope="module")
def report(runs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Summary]:
    out = tmp_path_factory.mktemp("report")
    return out, write_report(runs, out)


def bench_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def metric(summary: Summary, metric_id: str) -> MetricEntry:
    return summary.metric(metric_id)


def headline(out: Path) -> list[list[str]]:
    markdown = (out / "report.md").read_text()
    section = markdown.split("## Headline", 1)[1].split("\n## ", 1)[0]
    return [
        [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        for line in section.splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ]


def workload_mean_ms(run: Path) -> float:
    """The mean over every non-probe request of the steady state, from the per-endpoint summaries."""
    steady = read_steady(run)
    assert steady is not None
    chosen = [stats for name, stats in steady.latency.items() if name != ALL and not name.startswith("probe:")]
    total = sum(stats.mean_ms * stats.count for stats in chosen)
    return total / sum(stats.count for stats in chosen)


def test_every_report_file_is_written(report: tuple[Path, Summary]) -> None:
    out, _ = report
    for name in ("summary.json", "summary.csv", "report.md", "report.html"):
        assert (out / name).stat().st_size > 0, name
    plots = sorted(path.name for path in (out / "plots").iterdir())
    expected = ["latency_over_time", "latency_spectrum", "memory_over_time", "throughput_over_time", "visibility"]
    assert plots == [f"{name}.png" for name in expected]
    for path in (out / "plots").iterdir():
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), path
    html = (out / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == len(expected)
    assert not re.search(r'(src|href)="(?!data:|#)', html), "report.html refers to a file or a site"


def test_the_headline_table_has_three_rows_with_figures_from_these_runs(
    runs: list[Path], report: tuple[Path, Summary]
) -> None:
    out, summary = report
    table = headline(out)
    assert table[0] == ["Metric", BASELINE, OTHER, "Delta"]
    assert [row[0] for row in table[1:]] == HEADLINE_ROWS
    latency, memory, database = table[1:]
    for arm_index, arm in enumerate((BASELINE, OTHER)):
        arm_runs = [run for run in runs if (tag := manifest(run).experiment) is not None and tag.arm == arm]
        expected = sum(workload_mean_ms(run) for run in arm_runs) / len(arm_runs)
        found = metric(summary, LATENCY_MEAN).arms[arm]
        assert found.n == REPEATS
        assert found.mean == pytest.approx(expected, rel=0.01)
        assert found.mean is not None
        assert latency[1 + arm_index].startswith(f"{number(found.mean)} ms [")
        assert " MiB [" in memory[1 + arm_index]
        node = metric(summary, MEMORY_NODE).arms[arm].mean
        assert node is not None
        assert node > 5  # a Python process is at least that big
        # The write capacity: an experiment without a [capacity] table says so, never a zero.
        assert database[1 + arm_index].startswith("n/a: not measured: the experiment has no [capacity] table")
        assert not summary.capacity.arms[arm].measured
    # The rows written for the fixed load moved to the database table (and the floor has no database).
    assert metric(summary, DB_WRITES).section == "database"
    assert metric(summary, DB_WRITES).label == "rows written/s at the experiment's fixed load"
    assert metric(summary, DB_WRITES).arms[BASELINE].mean is None  # never a zero
    assert "significant" in latency[3]
    assert database[3].startswith("n/a")


def test_the_latency_delta_of_four_milliseconds_is_significant(report: tuple[Path, Summary]) -> None:
    out, summary = report
    change = metric(summary, LATENCY_MEAN).deltas[OTHER]
    assert change.significant is True
    assert change.absolute is not None
    # At least half of the 4 ms of synthetic delay shows; above it, a loaded machine adds what it will, so
    # the delta's arithmetic is checked exactly instead: the difference of the arms' means.
    assert change.absolute > 2.0
    base, other = (metric(summary, LATENCY_MEAN).arms[arm].mean for arm in (BASELINE, OTHER))
    assert base is not None
    assert other is not None
    assert change.absolute == pytest.approx(other - base)
    assert change.relative_percent == pytest.approx(100 * (other - base) / base)
    assert change.ci is not None
    assert change.ci[0] > 0
    assert change.relative_percent is not None
    assert change.relative_percent > 0
    cell = headline(out)[1][3]
    assert cell.startswith("+")
    assert "significant, worse" in cell
    assert "not significant" not in cell


def test_the_csv_has_a_row_per_metric_and_arm(report: tuple[Path, Summary]) -> None:
    out, _ = report
    with (out / "summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(METRICS) * len(ARMS)
    latency = {row["arm"]: row for row in rows if row["metric"] == LATENCY_MEAN}
    assert latency[BASELINE]["delta"] == ""
    assert latency[OTHER]["significant"] == "True"
    assert float(latency[OTHER]["mean"]) > float(latency[BASELINE]["mean"])
    database = next(row for row in rows if row["metric"] == DB_WRITES)
    assert database["mean"] == ""
    assert "no PostgreSQL" in database["missing"]


def test_slos_pass_and_fail_per_arm(report: tuple[Path, Summary]) -> None:
    out, summary = report
    verdicts = {slo.text: slo.arms for slo in summary.slos}
    assert all(verdicts[PASSING_SLO][arm].passed for arm in ARMS)
    assert not any(verdicts[FAILING_SLO][arm].passed for arm in ARMS)
    failures = summary.slo_failures()
    assert len(failures) == len(ARMS)
    assert all(FAILING_SLO in failure for failure in failures)
    assert not summary.slos_passed
    markdown = (out / "report.md").read_text()
    assert f"| {FAILING_SLO} | FAIL: mean over 2 valid repetition(s)" in markdown


def test_invariants_validity_and_environment_are_reported(report: tuple[Path, Summary]) -> None:
    out, summary = report
    markdown = (out / "report.md").read_text()
    for title in (
        "Latency per endpoint group",
        "Throughput and errors",
        "CPU per component",
        "Memory per component",
        "Visibility window",
        "Service-level objectives",
        "Invariant checks",
        "Runs and their validity",
        "Environment",
        "What was and was not valid",
    ):
        assert f"## {title}" in markdown, title
    assert "| passed | no overdraft: ok (no account below zero) |" in markdown
    assert "not checked: the floor keeps no state" in markdown
    assert "4 run(s) in 2 arm(s); 4 complete and valid" in markdown
    assert "Not measured in any arm: events behind, mean" in markdown  # the floor has no projectors
    assert "floor_delay=fixed:6ms" in markdown
    machine = summary.environment.machines[0]
    assert machine.logical_cpus
    assert machine.cpu_model
    assert f"{machine.hostname}: {machine.cpu_model}" in markdown


def test_an_invalid_and_an_incomplete_run_are_excluded_and_listed(runs: list[Path], tmp_path: Path) -> None:
    copies = []
    for run in runs:
        shutil.copytree(run, tmp_path / "runs" / run.name)
        copies.append(tmp_path / "runs" / run.name)
    invalid, incomplete = copies[1], copies[2]  # the 6 ms arm's first repetition, the 2 ms arm's second
    saturated = Validity(valid=False, findings=[Finding(FindingKind.GENERATOR_CPU, "the generator saturated: made up")])
    write_manifest(invalid, msgspec.structs.replace(manifest(invalid), validity=saturated))
    interrupted = Ending(EndKind.INTERRUPTED, "interrupted by Ctrl-C")
    write_manifest(incomplete, msgspec.structs.replace(manifest(incomplete), complete=False, ended=interrupted))
    (incomplete / "histograms" / "steady.json").unlink()  # as in a run stopped during its ramp-up
    (incomplete / "timeseries.csv").write_text("")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = write_report(copies, tmp_path / "out")
    excluded = {entry.run: entry for entry in summary.validity.excluded}
    assert set(excluded) == {invalid.name, incomplete.name}
    assert excluded[invalid.name].reasons == ["the generator saturated: made up"]
    assert "did not complete: interrupted by Ctrl-C" in excluded[incomplete.name].reasons[0]
    assert f"{incomplete.name} (arm {BASELINE}, repetition 1)" in summary.validity.statements[1]
    latency = metric(summary, LATENCY_MEAN)
    assert [latency.arms[arm].n for arm in ARMS] == [1, 1]
    assert latency.arms[OTHER].ci is None
    assert latency.deltas[OTHER].significant is False  # one repetition a side proves nothing
    assert latency.deltas[OTHER].note == NOT_ENOUGH
    markdown = (tmp_path / "out" / "report.md").read_text()
    row = next(line for line in markdown.splitlines() if line.startswith("| Average response latency"))
    assert row.count("(n=1, no CI)") == 2
    assert "not significant (not enough repetitions" in row
    assert f"Excluded: run {invalid.name} (arm {OTHER}, repetition 0): the generator saturated: made up" in markdown
    assert f"Arm {OTHER} has 1 valid repetition(s)" in markdown
    assert markdown.count("INVALID, excluded") == 2


def test_runs_without_an_experiment_form_one_arm_per_target_and_settings(runs: list[Path], tmp_path: Path) -> None:
    copies = []
    for run in runs:
        copy = tmp_path / run.name
        shutil.copytree(run, copy)
        write_manifest(copy, msgspec.structs.replace(manifest(copy), experiment=None))
        copies.append(copy)
    summary = write_report(copies, tmp_path / "out")
    assert summary.arm_names == ["floor (floor_delay=fixed:2ms)", "floor (floor_delay=fixed:6ms)"]
    assert summary.experiment.source == "run settings"
    assert metric(summary, LATENCY_MEAN).deltas[summary.arm_names[1]].significant is True
    assert summary.slos_passed  # no experiment, no SLOs


def test_bench_report_rebuilds_a_byte_identical_summary(
    runs: list[Path], report: tuple[Path, Summary], tmp_path: Path
) -> None:
    out, _ = report
    first = bench_process("report", *(str(run) for run in runs), "--out", str(tmp_path / "first"))
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "first" / "summary.json").read_bytes() == (out / "summary.json").read_bytes()
    assert f"SLO failed: arm {OTHER} fails SLO {FAILING_SLO!r}" in first.stderr
    again = bench_process("report", str(tmp_path / "first"), cwd=tmp_path)  # a report directory: its runs/ are used
    assert again.returncode == 0, again.stderr
    rebuilt = Path(again.stdout.strip())
    assert rebuilt.parent == (tmp_path / "reports").resolve()
    assert rebuilt.name.endswith("-floor-delay")
    assert (tmp_path / "reports" / "latest").resolve() == rebuilt
    assert (rebuilt / "summary.json").read_bytes() == (out / "summary.json").read_bytes()
    assert sorted(path.name for path in (rebuilt / "runs").iterdir()) == sorted(
        path.name for path in (tmp_path / "first" / "runs").iterdir()
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "expected at least one RUN_OR_REPORT_DIR"),
        (("/nonexistent/run",), "/nonexistent/run does not exist; expected a run directory"),
        (("{empty}",), "holds no run directory; expected a run directory"),
    ],
)
def test_bad_arguments_exit_2_and_say_what_was_expected(
    bench: BenchCli, args: tuple[str, ...], says: str, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    result = bench("report", *(arg.format(empty=tmp_path / "empty") for arg in args))
    assert result.exit_code == 2, result.output
    assert says in result.stderr


def test_a_run_directory_of_an_older_format_is_refused_by_name(
    bench: BenchCli, runs: list[Path], tmp_path: Path
) -> None:
    old = tmp_path / runs[0].name
    shutil.copytree(runs[0], old)
    first_format = msgspec.json.decode((old / files.MANIFEST).read_bytes())
    first_format["format"] = 1
    first_format["ended_because"] = first_format.pop("ended")["detail"]
    (old / files.MANIFEST).write_bytes(msgspec.json.encode(first_format))
    with pytest.raises(
        RunDirectoryError, match=r"written by an older version of cqrs-bench \(run directory format 1\)"
    ):
        write_report([old], tmp_path / "out")
    result = bench("report", str(old), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert "older version of cqrs-bench" in result.stderr
    assert not (tmp_path / "out" / "summary.json").exists()


def test_a_damaged_file_is_refused_naming_the_file_and_the_field(runs: list[Path], tmp_path: Path) -> None:
    damaged = tmp_path / runs[0].name
    shutil.copytree(runs[0], damaged)
    steady = msgspec.json.decode((damaged / files.STEADY).read_bytes())
    steady["seconds_measured"] = "ten"
    (damaged / files.STEADY).write_bytes(msgspec.json.encode(steady))
    with pytest.raises(RunDirectoryError, match=r"steady\.json: Expected `int`, got `str` - at `\$\.seconds_measured`"):
        write_report([damaged], tmp_path / "out")


def test_the_claim_stands_beside_the_measurement_with_a_verdict_per_row(report: tuple[Path, Summary]) -> None:
    out, summary = report
    assert summary.claim is not None
    latency, writes = summary.claim.rows
    assert (latency.verdict, writes.verdict) == (Verdict.SUPPORTS, Verdict.CANNOT_TELL)
    assert latency.measured_optimized is not None
    assert latency.measured_baseline is not None
    assert latency.measured_optimized > latency.measured_baseline
    assert latency.claimed_change_percent == pytest.approx(200.0)
    markdown = (out / "report.md").read_text()
    claim_at, validity_at = markdown.index("## The claim beside the measurement"), markdown.index("## What was")
    assert markdown.index("## Headline") < claim_at < validity_at  # shown with the headline, before the rest
    assert "| Average response latency | 2 -> 6 ms |" in markdown
    assert "| supports | claimed +200%, measured +" in markdown
    assert "| cannot tell | claimed +611%; not measured in" in markdown
    assert "Claimed by: the test's own claim." in markdown
