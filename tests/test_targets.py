"""Targets as the harness finds them: one description per target, settings to and from the environment,
and a target from outside the tree that `bench run` and `bench compare` drive like the built-in ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import msgspec
import pytest

from bench.report.document import read_summary
from bench.report.location import SUMMARY_JSON
from bench.report.metrics import LATENCY_MEAN
from bench.rundir import files
from bench.rundir.manifest import SEEN_TARGET_STATS
from bench.rundir.read import read_manifest
from bench.rundir.samples import TargetStatsSample
from targets.common.delay import parse_delay
from targets.common.seeding import Seeding
from targets.common.settings import TargetSettings
from targets.common.stats import Stats
from targets.cqrs.settings import CqrsSettings
from targets.cqrs.stats import CqrsStats
from targets.registry import MODULES_ENV, RegistryError, all_targets, get_target
from tests import outside_target

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parent.parent
OUTSIDE = {MODULES_ENV: "tests.outside_target"}


@pytest.mark.parametrize(
    "delay", ["none", "fixed:5ms", "uniform:1ms..10ms", "exponential:250us", "lognormal:5ms..50ms", "stall:200ms/1s"]
)
def test_target_settings_survive_the_environment(delay: str) -> None:
    settings = TargetSettings(
        pg_dsn="postgresql://u:p@h:5/db",
        redis_url="redis://h:6/3",
        pg_pool_size=7,
        max_body_bytes=4096,
        read_wait_ms=0,
        floor_delay=parse_delay(delay),
        floor_spin_us=30,
        header_timeout_ms=250,
    )
    assert TargetSettings.from_env(settings.to_env()) == settings


def test_unset_servers_stay_unset() -> None:
    settings = TargetSettings.from_env({})
    assert "BENCH_PG_DSN" not in settings.to_env()
    assert TargetSettings.from_env(settings.to_env()) == settings


def test_cqrs_settings_survive_the_environment() -> None:
    settings = replace(CqrsSettings.from_env({}), namespace="ns-1", projectors=3, poll_ms=7, crash_after_batches=2)
    assert CqrsSettings.from_env(settings.to_env()) == settings


def test_the_built_in_targets_are_found_and_describe_themselves() -> None:
    found = all_targets({})
    assert sorted(found) == ["cqrs", "crud", "floor"]
    assert [name for name, target in found.items() if target.keeps_data] == ["cqrs", "crud"]
    for target in found.values():
        seeding = target.seeder()
        assert seeding is None or isinstance(seeding, Seeding)
        assert (target.checker() is None) == (not target.keeps_data)
    assert found["cqrs"].companion is not None
    assert found["cqrs"].stats is CqrsStats
    assert found["floor"].seeder() is None


def test_cqrs_stats_carry_the_projection_lag() -> None:
    body = {
        "target": "cqrs",
        "pool": {"size": 4, "idle": 3},
        "write_side": {"version_conflicts_retried": 0, "cached_states": 1, "notifies_sent": 2},
        "read_side": {"view_cache_hits": 3, "view_cache_misses": 1, "cached_views": 1},
        "projection": {
            "generation": 1,
            "events_behind": 5,
            "seconds_behind": 0.25,
            "horizon_holder": None,
            "shards": [{"shard": "0of1", "checkpoint": "1:2", "events_behind": 5, "seconds_behind": 0.25}],
        },
    }
    stats = msgspec.json.decode(json.dumps(body), type=get_target("cqrs", {}).stats)
    assert stats.projection_lag() == (5.0, 0.25)
    assert msgspec.json.decode(json.dumps(body), type=Stats).projection_lag() is None


def test_a_target_from_outside_the_tree_joins_through_the_environment() -> None:
    assert "echo" not in all_targets({})
    assert get_target("echo", OUTSIDE) is outside_target.TARGET
    with pytest.raises(RegistryError, match=MODULES_ENV):
        all_targets({MODULES_ENV: "tests.no_such_module"})
    with pytest.raises(RegistryError, match="already defined"):
        all_targets({MODULES_ENV: "tests.outside_target, tests.outside_target"})
    with pytest.raises(RegistryError, match="expected one of cqrs, crud, floor"):
        get_target("echo", {})


def bench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **OUTSIDE, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=240
    )


SHORT = ["--users", "20", "--spawn-rate", "20", "--think-time", "0..50ms", "--warmup", "2s", "--duration", "5s"]


def test_bench_run_drives_the_outside_target(tmp_path: Path) -> None:
    result = bench("run", "--target", "echo", "--scenario", "banking", *SHORT, "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = Path(result.stdout.strip().splitlines()[-1])
    manifest = read_manifest(run)
    assert manifest.complete is True
    assert manifest.settings.target == "echo"
    assert manifest.observability is not None
    assert manifest.observability[SEEN_TARGET_STATS].observed
    lines = (run / files.TARGET_STATS_SAMPLES).read_bytes().splitlines()
    assert msgspec.json.decode(lines[0], type=TargetStatsSample).stats.target == "echo"


EXPERIMENT = """
name = "outside"
repeats = 1
generator_retries = 3  # three steady seconds: one late wake-up of the generator's loop spoils a run

[load]
scenario = "banking"
users = 10
think_time = "0.05s"
spawn_rate = 10
warmup = "1s"
duration = "3s"

[data]
accounts = 100

[[arms]]
name = "floor"
target = "floor"

[[arms]]
name = "echo"
target = "echo"
"""


def test_bench_compare_drives_the_outside_target(tmp_path: Path) -> None:
    experiment = tmp_path / "outside.toml"
    experiment.write_text(EXPERIMENT)
    result = bench("compare", str(experiment), "--out", str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = Path(result.stdout.strip().splitlines()[-1])
    runs = sorted((report / "runs").iterdir())
    manifests = [read_manifest(run) for run in runs]
    assert {m.settings.target for m in manifests} == {"echo", "floor"}
    assert all(m.complete for m in manifests)
    summary = read_summary((report / SUMMARY_JSON).read_bytes())
    assert summary.arm_names == ["floor", "echo"]
    assert summary.metric(LATENCY_MEAN).arms["echo"].values, "the outside target's latency was measured"
