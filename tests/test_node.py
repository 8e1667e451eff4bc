"""The node: every process of the system under test on the node's CPUs, Locust on the generator's, as /proc says."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from bench.infra.cpus import CpuRequest, PlacementError, default_split, format_cpu_list, parse_cpu_list, plan_cpus
from bench.infra.probe import wait_until
from bench.report.environment import said
from bench.report.metrics import CPU_NODE_SHARE, cpu_id, run_metrics
from bench.report.rundata import RunData
from bench.rundir.columns import Component
from bench.rundir.manifest import Placement, PlacementKind
from bench.rundir.read import read_manifest
from tests.cli_support import BenchCli

pytestmark = pytest.mark.timeout(180)

USABLE = frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else frozenset()
TWO_CPUS = pytest.mark.skipif(
    not {0, 1} <= USABLE or not sys.platform.startswith("linux"),
    reason="needs Linux and CPUs 0 and 1 usable by this process",
)
SHORT_RUN = [
    *("--users", "20", "--spawn-rate", "20", "--think-time", "0..50ms", "--warmup", "1s", "--duration", "6s"),
    *("--accounts", "50", "--entries", "20", "--customers", "10", "--orders", "100"),
]


def cpus_allowed(pid: int) -> str | None:
    """Cpus_allowed_list of /proc/PID/status, as the kernel writes it; None once the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return next(line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("Cpus_allowed_list"))


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("BENCH_PG_DSN", "BENCH_REDIS_URL")}


@pytest.fixture
def up(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    argv = [sys.executable, "-m", "bench", "up", "--target", "cqrs", "--workers", "2"]
    argv += ["--node-cpus", "1", "--generator-cpus", "0", "--log-dir", str(tmp_path)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())
    yield process
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=60)


@TWO_CPUS
def test_up_pins_every_process_of_the_node(up: subprocess.Popen[str]) -> None:
    assert up.stdout is not None
    url = up.stdout.readline().strip()  # printed once everything serves
    assert url.startswith("http://"), up.stderr.read() if up.stderr else ""
    opened = httpx.post(f"{url}/accounts", json={"owner": "node", "initial_deposit": 5}, timeout=10)
    assert opened.status_code == 201  # the workers' pools hold PostgreSQL backends now
    children = psutil.Process(up.pid).children()
    programs: dict[str, list[psutil.Process]] = {}
    for child in children:
        role = (
            "postgres"
            if child.name() == "postgres"
            else "redis"
            if "redis-server" in child.name()
            else "uvicorn"
            if "uvicorn" in child.cmdline()
            else "projector"
            if any("projector" in arg for arg in child.cmdline())
            else child.name()
        )
        programs.setdefault(role, []).extend(tree(child.pid))
    assert sorted(programs) == ["postgres", "projector", "redis", "uvicorn"]
    assert len(programs["uvicorn"]) >= 3  # the supervisor and its two workers
    assert len(programs["postgres"]) >= 5  # the postmaster, its helpers and the pools' backends
    found = {(role, p.pid): cpus_allowed(p.pid) for role, processes in programs.items() for p in processes}
    assert {key: cpus for key, cpus in found.items() if cpus is not None and cpus != "1"} == {}
    assert cpus_allowed(up.pid) == format_cpu_list(USABLE)  # bench itself is not pinned
    assert "node: CPU 1" in _stop(up)


def _stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    _, stderr = process.communicate(timeout=60)
    return stderr


@TWO_CPUS
def test_run_pins_locust_to_the_generator_and_records_it(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "bench", "run", "--target", "crud", "--scenario", "banking", *SHORT_RUN]
    argv += ["--processes", "2", "--node-cpus", "1", "--generator-cpus", "0", "--out", str(tmp_path)]
    run = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())
    seen: dict[int, str] = {}

    def locust_workers_seen() -> bool:
        for process in tree(run.pid):
            try:
                if "locust" in process.cmdline() and (cpus := cpus_allowed(process.pid)) is not None:
                    seen[process.pid] = cpus
            except psutil.Error:
                continue
        return len(seen) >= 3 or run.poll() is not None  # the master and its two workers

    wait_until(locust_workers_seen, timeout=120, what="Locust's master and workers to run")
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, stderr
    assert len(seen) >= 3, seen
    assert set(seen.values()) == {"0"}

    run_dir = Path(stdout.strip().splitlines()[-1])
    placement = read_manifest(run_dir).placement
    assert placement is not None
    assert (placement.kind, placement.isolated) == (PlacementKind.ISOLATED, True)
    assert (placement.node_cpus, placement.generator_cpus) == ([1], [0])
    components = {component.component: component for component in placement.components}
    assert sorted(components) == sorted([Component.TARGET, Component.POSTGRES, Component.GENERATOR])
    generator = components[Component.GENERATOR]
    assert {process.pid for process in generator.processes} == set(seen)  # the manifest saw what /proc showed
    assert all(process.cpus == [0] for process in generator.processes)
    for name in (Component.TARGET, Component.POSTGRES):
        assert components[name].asked == [1]
        assert components[name].processes
        assert all(process.cpus == [1] for process in components[name].processes), components[name]

    found = run_metrics(RunData.load(run_dir))
    node_share = found.values[CPU_NODE_SHARE]
    parts = [found.values[cpu_id(part)] for part in (Component.TARGET, Component.POSTGRES)]
    assert node_share is not None, found.missing.get(CPU_NODE_SHARE)
    assert all(part is not None for part in parts)
    # one node CPU: the node's share of it is its components' CPU (% of a core) summed
    assert node_share == pytest.approx(sum(part for part in parts if part is not None), abs=2.0)


@TWO_CPUS
def test_co_located_pins_nothing_and_says_so(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "bench", "run", "--target", "floor", "--scenario", "banking", *SHORT_RUN]
    argv += ["--co-located", "--out", str(tmp_path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=150, env=environment())
    assert done.returncode == 0, done.stderr
    placement = read_manifest(Path(done.stdout.strip().splitlines()[-1])).placement
    assert placement is not None
    assert (placement.kind, placement.isolated, placement.node_cpus, placement.generator_cpus) == (
        PlacementKind.CO_LOCATED,
        False,
        None,
        None,
    )
    for component in placement.components:
        assert component.asked is None
        assert all(process.cpus == sorted(USABLE) for process in component.processes), component
    assert said(placement) == f"co-located on CPUs {format_cpu_list(USABLE)} (nothing pinned)"


@pytest.mark.parametrize("command", ["up", "run", "compare", "sweep"])
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--node-cpus", "4096"], "--node-cpus 4096: this machine has no CPU 4096 that this process may use"),
        (["--generator-cpus", "4096"], "--generator-cpus 4096: this machine has no CPU 4096"),
        (["--node-cpus", ""], "'' is not a CPU list; expected a CPU list like 1, 0,2 or 2-3"),
        (["--node-cpus", "1-"], "'1-' is not a CPU list"),
        (["--co-located", "--node-cpus", "0"], "--co-located runs everything unpinned"),
    ],
)
def test_bad_cpus_exit_2_with_a_sentence(bench: BenchCli, command: str, args: list[str], expected: str) -> None:
    target = {"up": ["--target", "floor"], "run": ["--target", "floor", "--scenario", "banking"]}.get(command, [])
    result = bench(command, *target, *args)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr


@TWO_CPUS
@pytest.mark.parametrize("command", ["up", "run", "compare", "sweep"])
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--node-cpus", "0-1", "--generator-cpus", "1"], "--node-cpus 0-1 and --generator-cpus 1 overlap (CPU 1)"),
        (["--node-cpus", "0-1"], "--node-cpus 0-1 takes every usable CPU, leaving none to the generator"),
    ],
)
def test_overlapping_cpus_exit_2_with_a_sentence(bench: BenchCli, command: str, args: list[str], expected: str) -> None:
    target = {"up": ["--target", "floor"], "run": ["--target", "floor", "--scenario", "banking"]}.get(command, [])
    result = bench(command, *target, *args)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr


@TWO_CPUS
def test_the_command_line_overrides_the_experiment_file_and_the_result_is_checked(
    bench: BenchCli, tmp_path: Path
) -> None:
    experiment = tmp_path / "pinned.toml"
    experiment.write_text(
        'name = "pinned"\n[load]\nscenario = "banking"\n[node]\ncpus = "1"\n[generator]\ncpus = "0"\n'
        '[[arms]]\nname = "a"\ntarget = "floor"\n[[arms]]\nname = "b"\ntarget = "floor"\n'
    )
    result = bench("compare", str(experiment), "--generator-cpus", "1", "--out", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "--node-cpus 1 and --generator-cpus 1 overlap" in result.stderr


def test_cpu_lists_read_and_write_as_taskset_does() -> None:
    assert parse_cpu_list("0,2-3") == {0, 2, 3}
    assert parse_cpu_list(" 1 ") == {1}
    assert format_cpu_list({0, 2, 3, 5}) == "0,2-3,5"
    assert format_cpu_list(parse_cpu_list("0-7")) == "0-7"
    for bad in ("", ",", "1,", "a", "3-1", "-1", "1-2-3"):
        with pytest.raises(ValueError, match="is not a CPU list"):
            parse_cpu_list(bad)


def test_the_default_split_gives_the_generator_the_lowest_quarter() -> None:
    def split(cpus: set[int]) -> tuple[set[int], set[int]]:
        generator, node = default_split(frozenset(cpus))
        return set(generator), set(node)

    assert split({0, 1}) == ({0}, {1})
    assert split({0, 1, 2, 3}) == ({0}, {1, 2, 3})
    assert split(set(range(8))) == ({0, 1}, set(range(2, 8)))
    assert split({4, 6, 9}) == ({4}, {6, 9})


def test_conflicting_requests_are_refused_with_a_sentence() -> None:
    with pytest.raises(PlacementError, match="overlap"):
        CpuRequest(node=frozenset({1}), generator=frozenset({1})).check(frozenset({0, 1}))
    with pytest.raises(PlacementError, match="contradict"):
        CpuRequest(node=frozenset({1}), co_located=True).check(frozenset({0, 1}))
    with pytest.raises(PlacementError, match="leaving none to the node"):
        CpuRequest(generator=frozenset({0})).check(frozenset({0}))
    CpuRequest().check(frozenset({0}))  # one CPU: not isolated, and no error


@TWO_CPUS
def test_where_pinning_is_impossible_the_plan_says_why() -> None:
    external = plan_cpus(CpuRequest(), external_target="http://10.0.0.9:8000")
    assert (external.kind, external.node, external.generator) == (PlacementKind.EXTERNAL_TARGET, None, None)
    assert external.why_not is not None
    assert "external service at http://10.0.0.9:8000" in external.why_not
    server = plan_cpus(CpuRequest(), external_servers=["PostgreSQL (--pg-dsn)"])
    assert (server.kind, server.node, server.generator) == (
        PlacementKind.EXTERNAL_SERVER,
        frozenset({1}),
        frozenset({0}),
    )
    assert said(_placement(server.kind, [1], [0], server.why_not)) == (
        "node: CPU 1; generator: CPU 0; not isolated: PostgreSQL (--pg-dsn) is an external server, not pinned"
    )
    assert said(_placement(PlacementKind.ISOLATED, [1], [0], None, isolated=True)) == "node: CPU 1; generator: CPU 0"
    assert said(None) == "node placement not recorded"


def _placement(
    kind: PlacementKind, node: list[int] | None, generator: list[int] | None, why: str | None, isolated: bool = False
) -> Placement:
    return Placement(
        kind=kind, isolated=isolated, node_cpus=node, generator_cpus=generator, usable_cpus=[0, 1], why_not=why
    )
