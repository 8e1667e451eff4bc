"""`bench sweep`: the verdict of a step, a real sweep of the floor that finds its limit, and a stall seen.

The real sweeps use the floor with a fixed delay and few in-flight users, so that the limit is known
whatever the machine: 4 users each waiting at least 100 ms cannot complete more than 40 actions/s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bench.capacity.definition import SweepDefinition
from bench.capacity.outcome import ArmCapacity, ConcurrencySweep, LevelPoint, RateSearch, SweepOutcome, knee
from bench.capacity.planning import plan_nodes
from bench.capacity.report import CAPACITY_JSON, write_capacity_files, write_capacity_report
from bench.capacity.search import SearchPolicy, StepOutcome, Verdict, search
from bench.capacity.steps import judge_level, judge_rate_step
from bench.capacity.usl import fit_usl, usl_throughput
from bench.commands.sweep import definition_from, sweep
from bench.compare.experiment import Arm
from bench.report.rundata import RunData
from bench.report.slo import parse_slo
from bench.run.settings import LoadSettings
from bench.run.validity import judge
from bench.rundir.files import ALL
from bench.rundir.validity import FINISHED, Ending, EndKind, FindingKind, Validity
from scenarios.keys import parse_skew
from targets.common.dataset import SeedSpec
from tests import rundir_support
from tests.cli_support import BenchCli
from tests.rundir_support import endpoint, manifest, steady

pytestmark = pytest.mark.timeout(120)

ENDPOINT = "GET /accounts/{id}"


def bench_process(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        timeout=110,
    )


def capacity(result: subprocess.CompletedProcess[str]) -> tuple[Path, dict[str, Any]]:
    report = Path(result.stdout.strip().splitlines()[-1])
    return report, json.loads((report / "capacity.json").read_text())


# The verdict of one step, from a run directory's contents (no servers).


def run_data(
    *,
    sent_ms: list[float],
    intended_ms: list[float] | None,
    users: int = 10,
    validity: Validity | None = None,
    ended: Ending = FINISHED,
) -> RunData:
    """A run of 10 steady seconds whose requests took `sent_ms` from the send, `intended_ms` from the schedule."""
    latency = {ENDPOINT: endpoint(sent_ms), ALL: endpoint(sent_ms)}
    intended = {ENDPOINT: endpoint(intended_ms), ALL: endpoint(intended_ms)} if intended_ms is not None else None
    measured = steady(latency, seconds=10, actions=len(sent_ms), intended=intended)
    complete = ended is FINISHED
    return rundir_support.run_data(manifest(complete=complete, ended=ended, validity=validity, users=users), measured)


P99 = [parse_slo("p99 < 100ms")]


def test_the_slo_is_judged_on_the_latency_from_the_intended_start() -> None:
    fast = [5.0] * 1000
    stalled = [5.0] * 900 + [400.0] * 100  # 10% waited for a free user
    outcome = judge_rate_step(run_data(sent_ms=fast, intended_ms=stalled), P99)
    assert outcome.verdict is Verdict.FAIL
    assert "p99 < 100ms: measured 400" in outcome.reason
    assert outcome.measures["p99_ms"] == pytest.approx(400, rel=0.01)
    assert outcome.measures["p99_uncorrected_ms"] == pytest.approx(5, rel=0.01)
    assert judge_rate_step(run_data(sent_ms=fast, intended_ms=fast), P99).verdict is Verdict.PASS
    # The closed model has no intended start: the latency from the send is all there is.
    assert judge_level(run_data(sent_ms=fast, intended_ms=None)).verdict is Verdict.PASS


def write_validity_inputs(run: Path, *, generator_cpu: float, actions_per_second: int, lag_ms: float = 1.0) -> None:
    seconds = range(1, 6)
    (run / "samples").mkdir(parents=True)
    pd.DataFrame({"second": seconds, "pid": 1, "role": "local", "cpu_percent": generator_cpu}).to_csv(
        run / "samples" / "generator.csv", index=False
    )
    pd.DataFrame({"second": seconds, "worker": 0, "lag_max_ms": lag_ms}).to_csv(run / "loop_lag.csv", index=False)
    pd.DataFrame({"second": seconds, "actions": actions_per_second}).to_csv(run / "actions.csv", index=False)


@pytest.mark.parametrize(
    ("generator_cpu", "latency_ms", "verdict", "said", "spoiled"),
    [
        (99.0, 900.0, Verdict.VOID, "the load generator saturated", True),  # whatever the target did
        (20.0, 900.0, Verdict.FAIL, "the target could not keep up", False),  # 10 users x 0.9 s at 10/s: all busy
        (20.0, 5.0, Verdict.VOID, "the generator did not keep its schedule", True),  # users idle, rate short
    ],
)
def test_who_is_to_blame_for_a_rate_that_fell_short(
    tmp_path: Path, generator_cpu: float, latency_ms: float, verdict: Verdict, said: str, spoiled: bool
) -> None:
    # bench/run/validity.py's own findings: 10 actions/s achieved of the 100 asked.
    write_validity_inputs(tmp_path, generator_cpu=generator_cpu, actions_per_second=10)
    validity = judge(tmp_path, set(range(1, 6)), asked_rate=100.0, complete=True, why_incomplete=None)
    assert not validity.valid
    latencies = [latency_ms] * 100
    outcome = judge_rate_step(run_data(sent_ms=latencies, intended_ms=latencies, validity=validity), P99)
    assert outcome.verdict is verdict, outcome.reason
    assert outcome.reason.startswith(said) or said in outcome.reason, outcome.reason
    assert outcome.retryable is spoiled  # the generator's doing: another run may be valid


@pytest.mark.parametrize(
    ("latency_ms", "verdict", "spoiled"),
    [
        (5.0, Verdict.PASS, False),  # met the SLO through a late generator's added latency: it stands
        # Failed it, but 3 waits as late as 45 ms (+ the probe's 100 ms) could have added 435 ms: run again.
        (400.0, Verdict.VOID, True),
        (1_000.0, Verdict.FAIL, False),  # 1,000 - 435 still misses 100 ms: the target's failure
    ],
)
def test_a_late_generator_voids_a_failed_step_it_could_have_caused_but_not_a_passed_one(
    tmp_path: Path, latency_ms: float, verdict: Verdict, spoiled: bool
) -> None:
    write_validity_inputs(tmp_path, generator_cpu=20.0, actions_per_second=100, lag_ms=45.0)
    validity = judge(tmp_path, set(range(1, 6)), asked_rate=100.0, complete=True, why_incomplete=None)
    assert [finding.kind for finding in validity.findings] == [FindingKind.LOOP_LAG]
    assert validity.measures.loop_lag_max_ms == {0: 45.0}
    latencies = [latency_ms] * 100
    outcome = judge_rate_step(run_data(sent_ms=latencies, intended_ms=latencies, validity=validity), P99)
    assert outcome.verdict is verdict, outcome.reason
    assert "event loop lagged" in outcome.reason
    assert outcome.retryable is spoiled
    if verdict is Verdict.FAIL:
        assert "added at most 435 ms to a request's latency from its send, and p99 < 100ms fails" in outcome.reason


def test_a_saturated_generator_voids_any_failure(tmp_path: Path) -> None:
    """A generator short of CPU may have held requests for any time: its lag bounds nothing."""
    write_validity_inputs(tmp_path, generator_cpu=99.0, actions_per_second=100, lag_ms=45.0)
    validity = judge(tmp_path, set(range(1, 6)), asked_rate=100.0, complete=True, why_incomplete=None)
    latencies = [5_000.0] * 100
    outcome = judge_rate_step(run_data(sent_ms=latencies, intended_ms=latencies, validity=validity), P99)
    assert (outcome.verdict, outcome.retryable) == (Verdict.VOID, True), outcome.reason


@pytest.mark.parametrize(
    ("latency_ms", "verdict"),
    [
        (300.0, Verdict.VOID),  # short of the rate and of the SLO, but within the 435 ms the generator may add
        (1_000.0, Verdict.FAIL),  # beyond it: the target failed the SLO even at the lower rate it was sent
    ],
)
def test_a_late_generator_voids_a_shortfall_only_when_its_lag_could_explain_the_failure(
    tmp_path: Path, latency_ms: float, verdict: Verdict
) -> None:
    write_validity_inputs(tmp_path, generator_cpu=20.0, actions_per_second=10, lag_ms=45.0)
    validity = judge(tmp_path, set(range(1, 6)), asked_rate=100.0, complete=True, why_incomplete=None)
    assert {finding.kind for finding in validity.findings} == {FindingKind.LOOP_LAG, FindingKind.RATE_SHORTFALL}
    latencies = [latency_ms] * 100
    outcome = judge_rate_step(run_data(sent_ms=latencies, intended_ms=latencies, validity=validity), P99)
    assert outcome.verdict is verdict, outcome.reason
    assert outcome.retryable is (verdict is Verdict.VOID)
    assert "it fell short of the rate" in outcome.reason


def test_a_run_cut_short_is_the_targets_failure_only_when_the_target_died() -> None:
    fast = [5.0] * 100
    death = Ending(EndKind.TARGET_DIED, "crud projector 0 was killed by signal 9 during the run\nits log")
    died = run_data(sent_ms=fast, intended_ms=fast, ended=death)
    outcome = judge_rate_step(died, P99)
    assert (outcome.verdict, outcome.reason) == (
        Verdict.FAIL,
        "the target died under this load: crud projector 0 was killed by signal 9 during the run",
    )
    # The same words from a server's death: the kind decides, not the wording.
    server = Ending(EndKind.SERVER_DIED, "target crud projector 0 was killed by signal 9 during the run")
    server_died = judge_rate_step(run_data(sent_ms=fast, intended_ms=fast, ended=server), P99)
    assert server_died.verdict is Verdict.VOID
    assert not server_died.retryable  # not the generator's doing: no retry
    failed = Ending(EndKind.LOCUST_FAILED, "Locust exited with code 2.\nits log")
    outcome = judge_rate_step(run_data(sent_ms=fast, intended_ms=fast, ended=failed), P99)
    assert (outcome.verdict, outcome.reason) == (Verdict.VOID, "the run did not complete: Locust exited with code 2.")


def test_an_interrupted_search_concludes_on_the_steps_it_measured() -> None:
    policy = SearchPolicy(start_rate=100)

    def outcome(rate: float) -> StepOutcome:
        return StepOutcome(Verdict.PASS if rate <= 300 else Verdict.FAIL, "", rate, {"p99_ms": rate / 10})

    full = search(outcome, policy)
    found = RateSearch(workers=1, outcomes=[step.outcome for step in full.steps[:3]])  # 100, 200, 400
    found.conclude_early(policy)
    assert found.result is not None
    assert [step.rate for step in found.result.steps] == [100, 200, 400]
    assert (found.result.limit, found.result.bracket) == (200, (200, 400))
    assert knee(full.steps)["rate"] == 200  # p99 doubles from 10 ms at 100/s beyond 200/s


# The report, from measurements alone (no servers).


def synthetic_outcome(report: Path) -> SweepOutcome:
    """One arm whose p99 is 10 ms / (1 - rate / 1000), and whose throughput follows a known scalability law."""
    load = LoadSettings(
        scenario="mixed",
        mix="balanced",
        users=10,
        spawn_rate=10.0,
        rate=None,
        duration=5.0,
        warmup=2.0,
        processes=1,
        think_time=(0.0, 0.0),
        skew=parse_skew("uniform"),
        visibility_share=0.0,
        seed=1,
    )
    definition = SweepDefinition(
        name="synthetic",
        load=load,
        data=SeedSpec(10, 2, 2, 2, 1),
        arms=(Arm("crud", "crud"),),
        slos=(parse_slo("p99<100ms"),),
        policy=SearchPolicy(start_rate=100),
        concurrency=(1, 2, 4, 8, 16, 32, 64),
        plan_rate=1000.0,
    )

    def step(rate: float) -> StepOutcome:
        p99 = 10.0 / max(1e-3, 1 - rate / 1000)
        measures = {"actions_per_s": min(rate, 1000.0), "p99_ms": p99, "p99_uncorrected_ms": min(p99, 40.0)}
        return StepOutcome(
            Verdict.PASS if p99 < 100 else Verdict.FAIL, f"p99 {p99:.0f} ms", measures["actions_per_s"], measures
        )

    result = search(step, definition.policy)
    runs = [report / "runs" / f"step-{index}" for index in range(len(result.steps))]
    rate_search = RateSearch(1, [step.outcome for step in result.steps], runs, result)
    levels = ConcurrencySweep(1, (0.0, 0.0))
    for index, users in enumerate(definition.concurrency):
        throughput = float(usl_throughput(users, 0.05, 0.002, 100.0)) * (1.01 if index % 2 else 0.99)
        levels.points.append(LevelPoint(users, StepOutcome(Verdict.PASS, "valid", throughput, {}), report / "l"))
    usable = levels.usable()
    levels.fit = fit_usl([users for users, _ in usable], [rate for _, rate in usable])
    arm = ArmCapacity(definition.arms[0], [rate_search], levels)
    arm.plan = plan_nodes(1000.0, 0.3, measured=arm.limits())
    return SweepOutcome(report, definition, [arm])


def test_the_report_shows_the_limit_the_knee_the_fit_and_the_plan(tmp_path: Path) -> None:
    data = write_capacity_report(synthetic_outcome(tmp_path))
    found = data["arms"][0]
    assert found["searches"][0]["bounded_by"] == "slo"
    assert 850 <= found["searches"][0]["limit"] < 900  # p99 reaches 100 ms at 900/s
    assert found["searches"][0]["knee"]["rate"] == 400  # p99 doubles (to 20 ms) at 500/s
    fit = found["concurrency"]["fit"]
    assert not fit["refused"], fit
    assert fit["sigma"]["low"] <= 0.05 <= fit["sigma"]["high"]
    assert found["plan"]["nodes"] == 2  # 1000/s at 70% of about 875/s per node
    markdown = (tmp_path / "capacity.md").read_text()
    assert "| crud | 1 | 8" in markdown
    assert "N* (peak)" in markdown
    assert "Knee: p99 within 2x of 11.11 ms" in markdown
    html = (tmp_path / "capacity.html").read_text()
    assert html.count("data:image/png;base64,") == 3  # throughput, latency, USL
    assert {path.name for path in (tmp_path / "plots").iterdir()} == {"throughput.png", "latency.png", "usl.png"}
    # Rendered again from capacity.json alone: the same bytes.
    again = tmp_path / "again"
    write_capacity_files(json.loads((tmp_path / CAPACITY_JSON).read_text()), again)
    for name in (CAPACITY_JSON, "capacity.csv", "capacity.md"):
        assert (again / name).read_text() == (tmp_path / name).read_text(), name


# The command line.


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--target", "floor"], "no SLO to judge the steps by"),
        (["--target", "floor", "--slo", "p99 fast"], "is not an SLO"),
        (["--target", "floor", "--target", "floor", "--slo", "p99<1s"], "--target floor is given twice"),
        (["--target", "crud", "--slo", "p99<1s", "--floor-delay", "fixed:5ms"], "expected --target floor with it"),
        (["--target", "floor", "--slo", "p99<1s", "--workers", "0,1"], "distinct whole numbers of at least 1"),
        (["--target", "floor", "--slo", "p99<1s", "--concurrency", "8,x"], "is not a list of counts"),
        (["--target", "floor", "--slo", "p99<1s", "--headroom", "150%"], "up to (not including) 100%"),
        (["--target", "floor", "--slo", "p99<1s", "--start-rate", "50", "--max-rate", "10"], "ceiling must be"),
        (["--target", "floor", "--slo", "p99<1s", "--think-time", "1s"], "expected --concurrency with it"),
        (["--target", "floor", "--slo", "p99<1s", "--floor-delay", "stall:2s/1s"], "0 < blocked time < period"),
        (["--target", "floor", "--slo", "p99<1s", "--generator-retries", "9"], "9 is not in the range 0<=x<=5"),
    ],
)
def test_bad_arguments_exit_2_with_a_sentence(bench: BenchCli, tmp_path: Path, args: list[str], expected: str) -> None:
    result = bench("sweep", *args, "--out", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert not list(tmp_path.iterdir())  # refused before anything ran


def test_an_experiment_file_and_targets_together_exit_2(bench: BenchCli, tmp_path: Path) -> None:
    experiment = tmp_path / "experiment.toml"
    experiment.write_text("name = 'x'\n")
    result = bench("sweep", str(experiment), "--target", "floor", "--slo", "p99<1s", "--out", str(tmp_path / "reports"))
    assert result.exit_code == 2, result.output
    assert "expected an EXPERIMENT file or --target arms, not both" in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nosuch"], "no experiment is named 'nosuch'; expected the path of a .toml file or a name from"),
        (["--target", "floor", "--set", "load.users=5"], "expected it with EXPERIMENT (or the default experiment)"),
        (["projectors", "--set", "load"], "'load' has no '='; expected KEY=VALUE"),
        (["projectors", "--set", "load.ratez=5"], "[load] has no key 'ratez'; expected one of: duration, mix"),
        (["projectors", "--set", "arms.one.workers=2"], "[[arms]] has no entry named 'one'"),
    ],
)
def test_a_bad_experiment_name_or_override_exits_2(
    bench: BenchCli, tmp_path: Path, args: list[str], expected: str
) -> None:
    result = bench("sweep", *args, "--slo", "p99<1s", "--out", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.stderr.split()), result.stderr  # click wraps long lines
    assert not list(tmp_path.iterdir())


def test_a_sweep_takes_an_experiment_by_name_with_its_keys_set() -> None:
    args = ["projectors", "--set", "arms.two-projectors.projectors=3", "--set", 'slos=["p99 < 20ms"]']
    args += ["--set", "generator_retries=2"]
    params = sweep.make_context("sweep", args).params
    definition = definition_from(params.pop("experiment"), params)
    assert definition.name == "cqrs-projectors-sweep"
    assert definition.generator_retries == 2  # the experiment's, --generator-retries not given
    assert [(arm.name, arm.projectors) for arm in definition.arms] == [("one-projector", 1), ("two-projectors", 3)]
    assert [slo.text for slo in definition.slos] == ["p99 < 20ms"]


# Real sweeps of the floor.


def test_a_sweep_of_the_floor_finds_the_limit_its_in_flight_users_allow(tmp_path: Path) -> None:
    result = bench_process(
        "sweep",
        "--target",
        "floor",
        "--floor-delay",
        "fixed:100ms",
        "--in-flight",
        "4",
        "--slo",
        "p99<300ms",
        "--scenario",
        "banking",
        "--mix",
        "read-heavy",
        "--start-rate",
        "16",
        "--resolution",
        "50%",
        "--max-steps",
        "5",
        "--step-duration",
        "3s",
        "--warmup",
        "1s",
        "--out",
        str(tmp_path / "reports"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report, data = capacity(result)
    assert (tmp_path / "reports" / "latest").resolve() == report.resolve()
    found = data["arms"][0]["searches"][0]
    # 16 and 32/s pass (at most 80% of the 40/s that 4 users x 100 ms allow), 64 and 48/s cannot be kept up.
    assert found["bounded_by"] == "slo", found["explanation"]
    assert 16 <= found["limit"] < 40 < found["bracket"][1]
    failed = [step for step in found["steps"] if step["verdict"] == "fail"]
    assert failed
    assert all("could not keep up" in step["reason"] or "p99<300ms" in step["reason"] for step in failed)
    # A failing step counts only when its repeat fails as well: over capacity, it does.
    assert all(step["reason"].startswith("failed twice") for step in failed)
    assert "(attempt 2): asked" in result.stderr
    assert "void" not in {step["verdict"] for step in found["steps"]}
    for step in found["steps"]:
        assert (report / step["run"] / "manifest.json").is_file()
        assert step["measures"]["p99_ms"] >= step["measures"]["p99_uncorrected_ms"]
    assert "floor, 1 worker(s), step 1: asked 16 actions/s" in result.stderr
    for name in ("capacity.md", "capacity.html", "capacity.csv", "plots/throughput.png", "plots/latency.png"):
        assert (report / name).stat().st_size > 0, name
    assert "| floor | 1 | " in (report / "capacity.md").read_text()
    assert (report / "capacity.html").read_text().count("data:image/png;base64,") == 2
    assert len((report / "capacity.csv").read_text().splitlines()) == 1 + len(found["steps"])


def test_a_stall_of_the_target_shows_in_the_latency_from_the_intended_start_only(tmp_path: Path) -> None:
    # One in-flight user at 200/s: during each 200 ms stall the one request sent waits, and the 40 actions
    # scheduled meanwhile wait for that user; from the send they then take a millisecond.
    result = bench_process(
        "sweep",
        "--target",
        "floor",
        "--floor-delay",
        "stall:200ms/1s",
        "--in-flight",
        "1",
        "--slo",
        "p99<100ms",
        "--scenario",
        "banking",
        "--mix",
        "read-heavy",
        "--start-rate",
        "200",
        "--max-steps",
        "1",
        "--step-duration",
        "3s",
        "--warmup",
        "1s",
        "--no-confirm",
        "--generator-retries",
        "3",
        "--out",
        str(tmp_path / "reports"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    _, data = capacity(result)
    (step,) = data["arms"][0]["searches"][0]["steps"]
    corrected, uncorrected = step["measures"]["p99_ms"], step["measures"]["p99_uncorrected_ms"]
    assert corrected > 150, step
    assert uncorrected < 50, step
    assert step["verdict"] == "fail"
    assert step["reason"].startswith("p99<100ms: measured"), step["reason"]


def test_sigterm_stops_the_sweep_with_the_report_of_what_was_measured(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench",
            "sweep",
            "--target",
            "floor",
            "--slo",
            "p99<1s",
            "--scenario",
            "banking",
            "--start-rate",
            "50",
            "--step-duration",
            "2s",
            "--warmup",
            "1s",
            "--out",
            str(tmp_path / "reports"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "step 1: asked 50 actions/s:" in line:
            break
    time.sleep(2.0)  # into the second step
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, "".join(seen) + stderr[-3000:]
    report = Path(stdout.strip().splitlines()[-1])
    data = json.loads((report / "capacity.json").read_text())
    assert data["interrupted"] is True
    found = data["arms"][0]["searches"][0]
    assert found["interrupted"] is True
    assert [step["rate"] for step in found["steps"]] == [50.0]
    assert "Interrupted after 1 step(s)" in found["explanation"]
    assert (report / "capacity.md").is_file()
