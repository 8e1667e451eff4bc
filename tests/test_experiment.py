"""Experiment files: the examples load, and every bad key or value is an error that names it."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bench.compare.experiment import EXPERIMENT_DIR, ExperimentError, load_experiment, parse_experiment
from bench.compare.runner import plan
from bench.infra.cpus import CpuRequest

pytestmark = pytest.mark.timeout(30)

MINIMAL = """
name = "t"
[load]
scenario = "banking"
[[arms]]
name = "a"
target = "crud"
[[arms]]
name = "b"
target = "cqrs"
"""


def minimal(**changes: Any) -> dict[str, Any]:
    document = tomllib.loads(MINIMAL)
    for dotted, value in changes.items():
        *parents, key = dotted.split(".")
        table = document
        for parent in parents:
            table = table[int(parent)] if isinstance(table, list) else table.setdefault(parent, {})
        table[key] = value
    return document


def test_the_shipped_experiments_load() -> None:
    default = load_experiment(EXPERIMENT_DIR / "default.toml")
    assert [arm.target for arm in default.arms] == ["crud", "cqrs"]
    assert default.load.scenario == "mixed"
    assert default.baseline.name == "crud"
    assert load_experiment(EXPERIMENT_DIR / "projectors.toml").load.open_model


def test_defaults_fill_what_a_minimal_file_leaves_out() -> None:
    experiment = parse_experiment(minimal())
    assert experiment.repeats == 3
    assert experiment.load.mix == "balanced"
    assert experiment.data.accounts == 5_000


def test_arms_run_interleaved() -> None:
    experiment = parse_experiment(minimal(repeats=2))
    assert [(rep, arm.name) for rep, _, arm in plan(experiment)] == [(0, "a"), (0, "b"), (1, "a"), (1, "b")]


def test_quick_and_aa_keep_the_comparison() -> None:
    experiment = parse_experiment(minimal())
    quick = experiment.quick()
    assert quick.repeats == 2
    assert quick.load.duration <= 10
    assert [arm.name for arm in quick.arms] == ["a", "b"]
    aa = experiment.noise_floor()
    assert [arm.target for arm in aa.arms] == ["crud", "crud"]
    assert aa.arms[0].name != aa.arms[1].name


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"load.users": 0}, "load.users = 0: expected a value from 1 to 100000"),
        ({"load.users": "many"}, "load.users = 'many': expected an integer"),
        ({"load.scenario": "shop"}, "load.scenario = 'shop': expected one of banking, mixed, orders"),
        ({"load.mix": "heavy"}, "load.mix = 'heavy': expected one of read-heavy, balanced, write-heavy"),
        ({"load.duration": "forever"}, "load.duration = 'forever': expected a duration above zero"),
        ({"load.think_time": "3s..1s"}, "load.think_time = '3s..1s': expected MIN..MAX"),
        ({"load.user": 10}, "[load] has no key 'user'; expected one of"),
        ({"repeat": 2}, "the experiment has no key 'repeat'"),
        ({"repeats": 0}, "repeats = 0: expected an integer from 1 to 100"),
        ({"arms.0.target": "mongo"}, "arms[0].target = 'mongo': expected one of cqrs, crud, floor"),
        ({"arms.1.name": "a"}, "the name 'a' is used twice"),
        ({"arms.0.workers": 0}, "arms[0].workers = 0: expected a value from 1 to 64"),
        ({"arms.0.floor_delay": "sometimes"}, "arms[0].floor_delay = 'sometimes': expected 'none'"),
        ({"arms.0.host": "http://127.0.0.1:8000"}, "arms[0] (a): expected either target = NAME or host = URL"),
        ({"slos": ["p95 below 50ms"]}, "slos[0] = 'p95 below 50ms'"),
        ({"data.accounts": -1}, "data.accounts = -1: expected a value from 1"),
    ],
)
def test_bad_experiments_name_the_key_the_value_and_what_was_expected(changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(ExperimentError) as raised:
        parse_experiment(minimal(**changes))
    assert expected in str(raised.value)


def test_one_arm_is_no_comparison() -> None:
    document = minimal()
    document["arms"] = document["arms"][:1]
    with pytest.raises(ExperimentError, match="expected two or more"):
        parse_experiment(document)


def test_an_external_host_needs_the_keys_of_its_seed(tmp_path: Path) -> None:
    document = minimal()
    document["arms"][1] = {"name": "b", "host": "http://127.0.0.1:8001"}
    with pytest.raises(ExperimentError, match="needs keys = DIR"):
        parse_experiment(document)
    document["arms"][1]["keys"] = str(tmp_path)
    assert parse_experiment(document).arms[1].keys == tmp_path


def test_a_file_that_is_not_toml_says_so(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("name = \n")
    with pytest.raises(ExperimentError, match="not valid TOML"):
        load_experiment(path)


TWO_CPUS = pytest.mark.skipif(
    not {0, 1} <= set(getattr(os, "sched_getaffinity", lambda _: set())(0)),
    reason="needs CPUs 0 and 1 usable by this process",
)


@TWO_CPUS
def test_node_and_generator_tables_give_the_cpus_of_each() -> None:
    experiment = parse_experiment(minimal(**{"node.cpus": "1", "generator.cpus": "0"}))
    assert experiment.cpus == CpuRequest(node=frozenset({1}), generator=frozenset({0}))
    assert experiment.as_dict()["node"] == {"cpus": "1"}
    assert experiment.quick().cpus == experiment.cpus
    assert parse_experiment(minimal()).cpus == CpuRequest()  # the default split, decided at run time


@TWO_CPUS
def test_the_command_line_overrides_the_files_cpus() -> None:
    file = parse_experiment(minimal(**{"node.cpus": "1", "generator.cpus": "0"})).cpus
    assert file.overridden_by(CpuRequest(node=frozenset({0}), generator=frozenset({1}))) == CpuRequest(
        node=frozenset({0}), generator=frozenset({1})
    )
    assert file.overridden_by(CpuRequest(generator=frozenset({1}))) == CpuRequest(
        node=frozenset({1}), generator=frozenset({1})
    )  # overlapping now: the command checks the result (tests/test_node.py)
    assert file.overridden_by(CpuRequest(co_located=True)) == CpuRequest(co_located=True)
    assert file.overridden_by(CpuRequest()) == file


@TWO_CPUS
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"node.cpus": ""}, "node.cpus = '': expected a CPU list like 1, 0,2 or 2-3"),
        ({"node.cpus": "one"}, "node.cpus = 'one': expected a CPU list"),
        ({"generator.cpus": "3-1"}, "generator.cpus = '3-1': expected a CPU list"),
        ({"node.cpus": 1}, "node.cpus = 1: expected a string"),
        ({"node.cpu": "1"}, "[node] has no key 'cpu'; expected one of: cpus"),
        ({"node": "1"}, "node = '1': expected a table"),
        ({"node.cpus": "4096"}, "node.cpus 4096: this machine has no CPU 4096 that this process may use"),
        (
            {"node.cpus": "0-1", "generator.cpus": "1"},
            "node.cpus 0-1 and generator.cpus 1 overlap (CPU 1); expected lists with no CPU in common",
        ),
        ({"node.cpus": "0-1"}, "node.cpus 0-1 takes every usable CPU, leaving none to the generator"),
    ],
)
def test_bad_cpus_name_the_key_and_the_value(changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(ExperimentError) as raised:
        parse_experiment(minimal(**changes))
    assert expected in str(raised.value)
