"""Experiment files: the examples load, and every bad key or value is an error that names it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from bench.compare.experiment import EXPERIMENT_DIR, ExperimentError, load_experiment, parse_experiment
from bench.compare.runner import plan

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


CAPACITY = {"slos": ["p99(writes) < 100ms"]}


def with_capacity(**changes: Any) -> dict[str, Any]:
    document = minimal()
    document["capacity"] = {**CAPACITY, **changes}
    return document


def test_a_capacity_table_sets_the_write_capacity_search() -> None:
    experiment = parse_experiment(
        with_capacity(mix="balanced", resolution="5%", step_duration="12s", warmup="1s", start_rate=50, in_flight=8)
    )
    capacity = experiment.capacity
    assert capacity is not None
    assert [slo.text for slo in capacity.slos] == ["p99(writes) < 100ms"]
    assert (capacity.mix, capacity.resolution, capacity.step_duration, capacity.warmup) == ("balanced", 0.05, 12, 1)
    assert (capacity.start_rate, capacity.in_flight) == (50, 8)
    assert capacity.policy().relative_resolution == 0.05
    defaults = parse_experiment(with_capacity()).capacity
    assert defaults is not None
    assert (defaults.mix, defaults.resolution, defaults.max_steps) == ("write-heavy", 0.10, 5)
    assert parse_experiment(with_capacity(resolution=0.2)).capacity.resolution == 0.2  # type: ignore[union-attr]
    assert parse_experiment(minimal()).capacity is None
    quick = parse_experiment(with_capacity(max_steps=8, step_duration="20s")).quick().capacity
    assert quick is not None
    assert (quick.max_steps, quick.step_duration) == (3, 4)
    assert parse_experiment(with_capacity()).as_dict()["capacity"]["slos"] == ["p99(writes) < 100ms"]
    assert load_experiment(EXPERIMENT_DIR / "default.toml").capacity is not None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"slos": []}, "capacity.slos = []: expected at least one SLO"),
        ({"slos": ["p99 quick"]}, "capacity.slos[0] = 'p99 quick'"),
        ({"slos": [5]}, "capacity.slos[0] = 5: expected a string"),
        ({"mix": "writes"}, "capacity.mix = 'writes': expected one of read-heavy, balanced, write-heavy"),
        ({"resolution": "0%"}, "capacity.resolution = '0%': expected a percentage above 0%"),
        ({"resolution": "fine"}, "capacity.resolution = 'fine': expected a percentage"),
        ({"resolution": 150}, "capacity.resolution = 150: expected a percentage"),
        ({"step_duration": "0s"}, "capacity.step_duration = '0s': expected a duration above zero"),
        ({"step_duration": "long"}, "capacity.step_duration = 'long': expected a duration"),
        ({"warmup": 3}, "capacity.warmup = 3: expected a string"),
        ({"start_rate": 0}, "capacity.start_rate = 0: expected a value from 0.001"),
        ({"max_steps": 0}, "capacity.max_steps = 0: expected a value from 1 to 100"),
        ({"in_flight": 0}, "capacity.in_flight = 0: expected a value from 1"),
        ({"duration": "5s"}, "[capacity] has no key 'duration'; expected one of"),
    ],
)
def test_a_bad_capacity_table_names_the_key(changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(ExperimentError) as raised:
        parse_experiment(with_capacity(**changes))
    assert expected in str(raised.value)


def test_a_capacity_table_needs_its_slos() -> None:
    document = minimal()
    document["capacity"] = {"mix": "write-heavy"}
    with pytest.raises(ExperimentError, match=r"capacity\.slos is missing; expected a list"):
        parse_experiment(document)
