"""Experiment files: the examples load, and every bad key or value is an error that names it."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bench.compare.catalog import experiment_names, find_experiment
from bench.compare.experiment import (
    DEFAULT_EXPERIMENT,
    EXPERIMENT_DIR,
    ExperimentError,
    Servers,
    load_experiment,
    parse_experiment,
)
from bench.compare.overrides import Override, OverrideError, apply_overrides, parse_override
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
    read_store = load_experiment(EXPERIMENT_DIR / "read-store.toml")
    assert [arm.settings.get("BENCH_CQRS_READ_STORE") for arm in read_store.arms] == [None, "redis", "postgres"]


def test_defaults_fill_what_a_minimal_file_leaves_out() -> None:
    experiment = parse_experiment(minimal())
    assert experiment.repeats == 3
    assert experiment.generator_retries == 1
    assert experiment.load.mix == "balanced"
    assert experiment.data.accounts == 5_000


def test_an_arm_runs_its_query_side_in_query_workers_of_its_own(tmp_path: Path) -> None:
    experiment = parse_experiment(minimal(**{"arms.1.query_workers": 2}))
    assert [arm.query_workers for arm in experiment.arms] == [0, 2]
    settings = experiment.arms[1].run_settings(experiment.load, experiment.data, tmp_path, Servers())
    assert settings.query_workers == 2
    assert settings.as_manifest().query_workers == 2


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


BAD_EXPERIMENTS = pytest.mark.parametrize(
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
        ({"generator_retries": 6}, "generator_retries = 6: expected a value from 0 to 5"),
        ({"generator_retries": "once"}, "generator_retries = 'once': expected an integer"),
        ({"arms.0.target": "mongo"}, "arms[0].target = 'mongo': expected one of cqrs, crud, floor"),
        ({"arms.1.name": "a"}, "the name 'a' is used twice"),
        ({"arms.0.workers": 0}, "arms[0].workers = 0: expected a value from 1 to 64"),
        ({"arms.0.query_workers": 1}, "arms[0].query_workers = 1: expected 0 for crud, whose query side"),
        ({"arms.1.query_workers": 65}, "arms[1].query_workers = 65: expected a value from 0 to 64"),
        ({"arms.0.floor_delay": "sometimes"}, "arms[0].floor_delay = 'sometimes': expected 'none'"),
        ({"arms.0.host": "http://127.0.0.1:8000"}, "arms[0] (a): expected either target = NAME or host = URL"),
        ({"slos": ["p95 below 50ms"]}, "slos[0] = 'p95 below 50ms'"),
        ({"data.accounts": -1}, "data.accounts = -1: expected a value from 1"),
    ],
)


@BAD_EXPERIMENTS
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


# --set KEY=VALUE: overrides of the file's keys.


def overrides(*texts: str) -> list[Override]:
    return [parse_override(text) for text in texts]


def minimal_file(tmp_path: Path) -> Path:
    path = tmp_path / "minimal.toml"
    path.write_text(MINIMAL)
    return path


@pytest.mark.parametrize(
    ("text", "path", "value"),
    [
        ("load.users=2000", ("load", "users"), 2000),
        ("load.visibility_share=0.5", ("load", "visibility_share"), 0.5),
        ("arms.cqrs.projectors=2", ("arms", "cqrs", "projectors"), 2),
        ("repeats=1", ("repeats",), 1),
        ("flag=true", ("flag",), True),
        ('slos=["p99 < 50ms", "errors < 1%"]', ("slos",), ["p99 < 50ms", "errors < 1%"]),
        ('load.warmup="5s"', ("load", "warmup"), "5s"),
        ("load.warmup=5s", ("load", "warmup"), "5s"),  # no TOML value: the text itself
        ("load.think_time=5s..15s", ("load", "think_time"), "5s..15s"),
        ("arms.0.floor_delay=fixed:5ms", ("arms", "0", "floor_delay"), "fixed:5ms"),
        ("name = two words", ("name",), "two words"),
        ("load.skew=zipf:1.1", ("load", "skew"), "zipf:1.1"),
        ("name=a=b", ("name",), "a=b"),  # the first '=' ends the key
        ("name=", ("name",), ""),
    ],
)
def test_an_override_is_a_dotted_key_and_a_toml_value_else_a_string(
    text: str, path: tuple[str, ...], value: object
) -> None:
    override = parse_override(text)
    assert override.path == path
    assert override.value == value
    assert type(override.value) is type(value)
    assert override.text == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("load.users", "'load.users' has no '='; expected KEY=VALUE, like load.users=2000"),
        ("=5", "'' in '=5' is no dotted key; expected KEY=VALUE"),
        ("load..users=5", "'load..users' in 'load..users=5' is no dotted key"),
    ],
)
def test_an_override_that_is_not_key_equals_value_says_what_was_expected(text: str, expected: str) -> None:
    with pytest.raises(OverrideError) as raised:
        parse_override(text)
    assert expected in str(raised.value)


def test_overrides_change_the_loads_the_data_the_arms_and_the_top_level_keys(tmp_path: Path) -> None:
    experiment = load_experiment(
        minimal_file(tmp_path),
        overrides(
            "load.users=2000",
            "load.think_time=5s..15s",
            "data.entries=5000",  # the file has no [data] table: the override adds it
            "arms.b.projectors=2",
            "arms.0.workers=3",  # an arm by its index
            "repeats=1",
            'slos=["p99 < 50ms"]',
        ),
    )
    assert experiment.load.users == 2000
    assert experiment.load.think_time == (5.0, 15.0)
    assert experiment.data.entries == 5000
    assert experiment.data.accounts == 5_000  # the rest of [data] keeps its defaults
    assert [(arm.name, arm.workers, arm.projectors) for arm in experiment.arms] == [("a", 3, 1), ("b", 1, 2)]
    assert experiment.repeats == 1
    assert [slo.text for slo in experiment.slos] == ["p99 < 50ms"]


def test_a_later_override_of_a_key_wins_and_an_arm_can_be_renamed(tmp_path: Path) -> None:
    experiment = load_experiment(
        minimal_file(tmp_path), overrides("load.users=5", "load.users=7", "arms.b.name=c", "arms.c.workers=2")
    )
    assert experiment.load.users == 7
    assert [(arm.name, arm.workers) for arm in experiment.arms] == [("a", 1), ("c", 2)]


def test_the_recorded_definition_carries_the_overridden_values_and_the_overrides(tmp_path: Path) -> None:
    texts = ("load.users=2000", "arms.b.projectors=2")
    recorded = load_experiment(minimal_file(tmp_path), overrides(*texts)).as_dict()
    assert recorded["load"].users == 2000
    assert recorded["arms"][1]["projectors"] == 2
    assert recorded["overrides"] == list(texts)
    assert load_experiment(minimal_file(tmp_path)).as_dict()["overrides"] == []


def test_applying_overrides_leaves_the_document_as_it_was() -> None:
    document = minimal()
    changed = apply_overrides(document, overrides("load.users=9", "arms.a.workers=2"))
    assert changed["load"]["users"] == 9
    assert changed["arms"][0]["workers"] == 2
    assert document == minimal()


@BAD_EXPERIMENTS
def test_a_bad_value_set_from_the_command_line_gets_the_message_of_the_file(
    tmp_path: Path, changes: dict[str, Any], expected: str
) -> None:
    texts = [f"{key}={json.dumps(value)}" for key, value in changes.items()]
    with pytest.raises(ExperimentError) as raised:
        load_experiment(minimal_file(tmp_path), overrides(*texts))
    assert expected in str(raised.value)
    assert f"with --set {texts[0]}: " in str(raised.value)  # and says the value came from --set


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "load.userz=5",
            "[load] has no key 'userz'; expected one of: duration, mix, processes, rate, scenario, seed, skew, "
            "spawn_rate, think_time, users, visibility_share, warmup",
        ),
        (
            "loadz.users=5",
            "the experiment has no key 'loadz'; expected one of: arms, capacity, claim, data, description, faults",
        ),
        ("arms.b.projectorz=2", "[arms[1]] has no key 'projectorz'; expected one of: floor_delay, host, keys"),
        (
            "arms.z.workers=2",
            "--set arms.z.workers=2: [[arms]] has no entry named 'z'; expected arms.NAME.KEY with NAME one of: "
            "a, b (or an index from 0 to 1)",
        ),
        ("arms.2.workers=2", "[[arms]] has no entry named '2'"),
        ("arms.b=2", "--set arms.b=2: arms.b is an entry of [[arms]], not a key; expected arms.b.KEY=VALUE"),
        ("name.first=x", "--set name.first=x: name is 't', not a table with keys; expected --set name=VALUE"),
        ("load.scenario.x=1", "load.scenario is 'banking', not a table with keys; expected --set load.scenario=VALUE"),
        ("slos.0=x", "--set slos.0=x: slos is ['p99 < 1s'], not a table with keys; expected --set slos=VALUE"),
    ],
)
def test_an_unknown_key_or_a_path_into_a_value_names_the_key_and_what_was_expected(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(ExperimentError) as raised:
        load_experiment(minimal_file(tmp_path), overrides('slos=["p99 < 1s"]', text))
    assert expected in str(raised.value)
    assert str(raised.value).startswith(str(tmp_path / "minimal.toml"))


# Experiments by name.


def test_every_experiment_file_there_is_found_by_its_name() -> None:
    names = experiment_names()
    assert {"default", "projectors", "external"} <= set(names)
    for name in names:
        assert find_experiment(name) == EXPERIMENT_DIR / f"{name}.toml"
    assert find_experiment(None) == DEFAULT_EXPERIMENT


def test_a_path_is_taken_as_it_is_and_a_bare_file_here_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_experiment("projectors.toml") == Path("projectors.toml")  # the suffix: a path, here
    assert find_experiment("sub/default") == Path("sub/default")
    (tmp_path / "mine").write_text(MINIMAL)
    assert find_experiment("mine") == Path("mine")
    (tmp_path / "default").write_text(MINIMAL)
    assert find_experiment("default") == DEFAULT_EXPERIMENT  # the name comes first


def test_an_unknown_name_lists_the_names_there() -> None:
    with pytest.raises(ExperimentError) as raised:
        find_experiment("nosuch")
    assert str(raised.value) == (
        "no experiment is named 'nosuch'; expected the path of a .toml file or a name from "
        f"scenarios/experiments: {', '.join(experiment_names())}"
    )


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
    assert (quick.max_steps, quick.step_duration) == (2, 3)
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


def test_an_arm_gives_its_target_settings_by_their_environment_names(tmp_path: Path) -> None:
    experiment = parse_experiment(
        minimal(**{"arms.1.settings": {"BENCH_CQRS_VIEW_CACHE": 0, "BENCH_READ_WAIT_MS": "50"}})
    )
    assert experiment.arms[1].settings == {"BENCH_CQRS_VIEW_CACHE": "0", "BENCH_READ_WAIT_MS": "50"}
    assert experiment.arms[0].settings == {}
    run = experiment.arms[1].run_settings(experiment.load, experiment.data, tmp_path, Servers())
    assert run.as_manifest().target_settings == {"BENCH_CQRS_VIEW_CACHE": "0", "BENCH_READ_WAIT_MS": "50"}
    assert experiment.as_dict()["arms"][1]["settings"] == {"BENCH_CQRS_VIEW_CACHE": "0", "BENCH_READ_WAIT_MS": "50"}
    changed = load_experiment(minimal_file(tmp_path), overrides("arms.b.settings.BENCH_CQRS_VIEW_CACHE=7"))
    assert changed.arms[1].settings == {"BENCH_CQRS_VIEW_CACHE": "7"}


@pytest.mark.parametrize(
    ("settings", "arm", "expected"),
    [
        (
            {"BENCH_CQRS_VIEW_CACHE": 0},
            0,
            "arms[0].settings.BENCH_CQRS_VIEW_CACHE: the crud target has no such setting",
        ),
        ({"BENCH_NOPE": 1}, 1, "expected one of: BENCH_CQRS_APPEND_ATTEMPTS"),
        ({"BENCH_PG_POOL_SIZE": 4}, 1, "BENCH_PG_POOL_SIZE: set by the arm's pg_pool_size = N, not here"),
        ({"BENCH_CQRS_PROJECTORS": 2}, 1, "set by the arm's projectors = N"),
        ({"BENCH_CQRS_VIEW_CACHE": -1}, 1, "arms[1].settings: BENCH_CQRS_VIEW_CACHE=-1: expected an integer between 0"),
        ({"BENCH_CQRS_VIEW_CACHE": [1]}, 1, "arms[1].settings.BENCH_CQRS_VIEW_CACHE = [1]: expected a string"),
        ({"BENCH_CQRS_READ_STORE": "mongo"}, 1, "BENCH_CQRS_READ_STORE='mongo': expected redis or postgres"),
    ],
)
def test_a_bad_arm_setting_names_the_key_and_what_was_expected(
    settings: dict[str, Any], arm: int, expected: str
) -> None:
    with pytest.raises(ExperimentError) as raised:
        parse_experiment(minimal(**{f"arms.{arm}.settings": settings}))
    assert expected in str(raised.value)


def test_faults_tables_give_every_arm_the_same_faults() -> None:
    faults = [{"kind": "kill-projector", "at": "20s"}, {"kind": "pause-projector", "at": "30s", "for": "4s"}]
    experiment = parse_experiment(minimal(**{"faults": faults, "load.duration": "60s"}))
    assert [fault.text for fault in experiment.faults] == ["kill-projector@20s", "pause-projector@30s+4s"]
    for arm in experiment.arms:
        settings = arm.run_settings(experiment.load, experiment.data, Path("out"), Servers(), experiment.faults)
        assert settings.faults == experiment.faults
    assert experiment.as_dict()["faults"] == ["kill-projector@20s", "pause-projector@30s+4s"]


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        ([{"kind": "unplug", "at": "2s"}], "faults[0]: 'unplug@2s': 'unplug' is not a fault"),
        ([{"kind": "flush-redis"}], "faults[0].at is missing; expected a string"),
        ([{"kind": "flush-redis", "at": "2s", "when": "now"}], "[faults[0]] has no key 'when'"),
        ([{"kind": "flush-redis", "at": "2s", "for": "1s"}], "flush-redis is over at once and takes no +FOR"),
        ([{"kind": "flush-redis", "at": "1h"}], "faults: flush-redis@3600s would start after the load ends"),
    ],
)
def test_a_bad_faults_table_names_the_fault(faults: list[dict[str, str]], expected: str) -> None:
    with pytest.raises(ExperimentError) as raised:
        parse_experiment(minimal(faults=faults))
    assert expected in str(raised.value)


def test_quick_refuses_faults_that_its_shorter_load_would_never_reach() -> None:
    late = parse_experiment(minimal(**{"faults": [{"kind": "flush-redis", "at": "50s"}], "load.duration": "60s"}))
    with pytest.raises(ExperimentError, match="--quick shortens the load, and flush-redis@50s would start after"):
        late.quick()
