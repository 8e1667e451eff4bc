"""Experiment files: a named load, a data set, repetitions, two or more arms, and SLOs (TOML).

    name = "crud-vs-cqrs"
    repeats = 3
    generator_retries = 1       # a run the load generator spoiled (loop lag, a saturated core) is run again
    slos = ["p95(reads) < 50ms", "errors < 0.1%"]

    [load]                      # the same load for every arm
    scenario = "mixed"
    mix = "balanced"
    users = 300                 # or rate = 400 (open model, actions/s)
    think_time = "0.5s..1.5s"
    warmup = "10s"
    duration = "45s"

    [data]                      # the same seeded data set for every arm
    accounts = 2000

    [node]                      # optional: the CPUs of the system under test (API, projectors, servers)
    cpus = "1"
    [generator]                 # optional: the CPUs of the load generator (Locust)
    cpus = "0"

    [[arms]]
    name = "crud"
    target = "crud"             # or host = "http://..." with keys = "DIR" (an external service)
    workers = 1

    [capacity]                  # optional: each arm's highest acknowledged write rate within these SLOs
    slos = ["p99(writes) < 100ms", "errors < 0.1%"]
    mix = "write-heavy"         # the search's mix; the scenario is [load]'s
    resolution = "10%"
    step_duration = "10s"

    [claim]                     # optional: published figures the report checks, row by row
    source = "a vendor's table"
    optimized = "cqrs"          # the arm the claim's "after" stands for (its "before": the first arm)
    rows = [{ metric = "latency_all_mean_ms", baseline = 280, optimized = 34 }]

    [quick]                     # optional: what --quick keeps
    users = 10000               # default: at most 100
    duration = "20s"            # the steady state measured; default: at most 10 s

Every key is checked: an unknown key or a bad value is an ExperimentError naming the key,
the value and what was expected.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from bench.capacity.search import SearchPolicy
from bench.compare.claim import WRITE_CAPACITY, Claim, ClaimRow
from bench.compare.overrides import Override, OverrideError, apply_overrides
from bench.compare.target_settings import TargetSettingError, arm_settings
from bench.durations import parse_seconds, parse_think_time
from bench.faults.spec import FaultSpec, FaultSpecError, check_schedule, parse_fault
from bench.infra.cpus import CPU_LIST_SYNTAX, CpuRequest, PlacementError, format_cpu_list, parse_cpu_list
from bench.report.slo import Slo, parse_slo
from bench.run.settings import LoadSettings, RunSettings
from bench.seed.sizes import DATABASE_SIZES
from scenarios.catalog import DEFAULT_MIX, DEFAULT_THINK_TIME, DEFAULT_VISIBILITY_SHARE, MIXES, SCENARIOS
from scenarios.keys import SKEW_SYNTAX, parse_skew
from targets.common.dataset import SeedSpec
from targets.common.delay import DELAY_SYNTAX, parse_delay
from targets.registry import query_side_targets, target_names

if TYPE_CHECKING:
    from bench.run.kept_seeds import SeedStore

EXPERIMENT_DIR = Path(__file__).resolve().parent.parent.parent / "scenarios" / "experiments"
DEFAULT_EXPERIMENT = EXPERIMENT_DIR / "default.toml"
MAX_REPEATS = 100
DEFAULT_GENERATOR_RETRIES = 1
MAX_GENERATOR_RETRIES = 5
MAX_CAPACITY_STEPS = 100
# --quick: the capacity search's steps at most this long, and at most this many of them.
QUICK_STEP_SECONDS, QUICK_WARMUP_SECONDS, QUICK_MAX_STEPS = 3.0, 2.0, 2

T = TypeVar("T")


class ExperimentError(ValueError):
    pass


@dataclass(frozen=True)
class Arm:
    name: str
    target: str | None
    host: str | None = None
    keys: Path | None = None
    workers: int = 1
    projectors: int = 1
    query_workers: int = 0  # the target's query side in processes of its own; 0: the API workers serve reads
    pg_pool_size: int = 16
    floor_delay: str = "none"
    settings: Mapping[str, str] = field(default_factory=dict)  # target settings by environment name

    def run_settings(
        self, load: LoadSettings, data: SeedSpec, out: Path, servers: Servers, faults: tuple[FaultSpec, ...] = ()
    ) -> RunSettings:
        return RunSettings(
            load=load,
            target=self.target,
            host=self.host,
            out=out,
            seed_spec=data,
            load_data=self.keys is None,
            workers=self.workers,
            projectors=self.projectors,
            query_workers=self.query_workers,
            pg_pool_size=self.pg_pool_size,
            floor_delay=self.floor_delay,
            target_settings=dict(self.settings),
            pg_dsn=servers.pg_dsn,
            redis_url=servers.redis_url,
            keys_dir=self.keys,
            check_invariants=True,
            cpus=servers.cpus,
            seed_store=servers.seed_store,
            faults=faults,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            key: str(value) if isinstance(value, Path) else dict(value) if key == "settings" else value
            for key, value in vars(self).items()
        }


@dataclass(frozen=True)
class Servers:
    """External servers for every arm (--pg-dsn / --redis-url), or embedded ones (None); and the CPUs of
    the node and the generator (the experiment's [node] and [generator] under the command line's options)."""

    pg_dsn: str | None = None
    redis_url: str | None = None
    cpus: CpuRequest = field(default_factory=CpuRequest)
    seed_store: SeedStore | None = None  # the command's kept seeds (bench.run.kept_seeds); None: each run seeds


@dataclass(frozen=True)
class CapacitySettings:
    """[capacity]: per arm, `bench sweep`'s open-model rate search, at the experiment's scenario in `mix`.

    Its result is the highest rate of acknowledged writes an arm sustains within `slos` (the vendor
    table's "database write throughput" is a capacity claim, not the rows written for a fixed load).
    """

    slos: tuple[Slo, ...]
    mix: str = "write-heavy"
    resolution: float = 0.10  # of the highest passing rate
    step_duration: float = 10.0
    warmup: float = 3.0
    start_rate: float = 100.0  # actions/s
    max_steps: int = 5
    in_flight: int | None = None  # most actions in flight; None: one second of arrivals

    def quick(self) -> CapacitySettings:
        return replace(
            self,
            step_duration=min(self.step_duration, QUICK_STEP_SECONDS),
            warmup=min(self.warmup, QUICK_WARMUP_SECONDS),
            max_steps=min(self.max_steps, QUICK_MAX_STEPS),
        )

    def policy(self) -> SearchPolicy:
        return SearchPolicy(start_rate=self.start_rate, relative_resolution=self.resolution, max_steps=self.max_steps)

    def as_dict(self) -> dict[str, Any]:
        return {**vars(self), "slos": [slo.text for slo in self.slos]}


@dataclass(frozen=True)
class Experiment:
    name: str
    load: LoadSettings
    data: SeedSpec
    repeats: int
    arms: tuple[Arm, ...]
    slos: tuple[Slo, ...] = ()
    description: str = ""
    source: str = "built-in"
    overrides: tuple[str, ...] = ()  # --set KEY=VALUE, as given, applied to the file at `source`
    cpus: CpuRequest = field(default_factory=CpuRequest)  # [node] cpus and [generator] cpus
    claim: Claim | None = None  # [claim]: published figures the report checks against the measurement
    quick_users: int | None = None  # [quick] users: the users of --quick (default: at most 100)
    quick_duration: float | None = None  # [quick] duration, in seconds (default: at most 10 s)
    capacity: CapacitySettings | None = None  # None: the write capacity is not measured
    generator_retries: int = DEFAULT_GENERATOR_RETRIES  # times a spoiled repetition or capacity step is run again
    faults: tuple[FaultSpec, ...] = ()  # [[faults]]: injected into every repetition of every arm, at the same offsets

    @property
    def baseline(self) -> Arm:
        return self.arms[0]

    def quick(self) -> Experiment:
        """The same comparison, small: two repetitions of a short load on a smaller data set (~2 minutes)."""
        load = replace(
            self.load,
            warmup=min(self.load.warmup, 2.0),
            duration=self.quick_duration if self.quick_duration is not None else min(self.load.duration, 10.0),
            users=self.quick_users if self.quick_users is not None else min(self.load.users, 100),
            spawn_rate=max(self.load.spawn_rate, 50.0),
        )
        data = replace(
            self.data,
            accounts=min(self.data.accounts, 500),
            entries=min(self.data.entries, 50),
            customers=min(self.data.customers, 200),
            orders=min(self.data.orders, 2000),
        )
        capacity = self.capacity.quick() if self.capacity is not None else None
        try:
            check_schedule(list(self.faults), load.expected_seconds())
        except FaultSpecError as error:
            raise ExperimentError(f"--quick shortens the load, and {error}") from None
        return replace(
            self, name=f"{self.name}-quick", load=load, data=data, repeats=min(self.repeats, 2), capacity=capacity
        )

    def noise_floor(self) -> Experiment:
        """A/A: the baseline arm against itself, to show what differences this machine makes up."""
        twin = replace(self.baseline, name=f"{self.baseline.name}-again")
        return replace(self, name=f"{self.name}-aa", arms=(self.baseline, twin))

    def run_seconds(self) -> float:
        """Planned time of one run, seeding and start-up not included."""
        return self.load.expected_seconds()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "repeats": self.repeats,
            "generator_retries": self.generator_retries,
            "load": self.load.as_manifest(),
            "data": vars(self.data),
            "arms": [arm.as_dict() for arm in self.arms],
            "slos": [slo.text for slo in self.slos],
            "overrides": list(self.overrides),
            "node": {"cpus": format_cpu_list(self.cpus.node) if self.cpus.node is not None else None},
            "generator": {"cpus": format_cpu_list(self.cpus.generator) if self.cpus.generator is not None else None},
            "claim": msgspec.to_builtins(self.claim) if self.claim is not None else None,
            "quick": {"users": self.quick_users, "duration": self.quick_duration},
            "capacity": self.capacity.as_dict() if self.capacity is not None else None,
            "faults": [fault.text for fault in self.faults],
        }


def load_experiment(path: Path, overrides: Sequence[Override] = ()) -> Experiment:
    """The experiment of the file at `path`, with `overrides` (--set KEY=VALUE) applied before its checks."""
    try:
        document = tomllib.loads(path.read_text())
    except OSError as error:
        raise ExperimentError(f"{path}: cannot be read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ExperimentError(f"{path}: not valid TOML: {error}") from None
    try:
        changed = apply_overrides(document, overrides)
    except OverrideError as error:
        raise ExperimentError(f"{path}: {error}") from None
    where = f"{path}, with {' '.join(f'--set {o.text}' for o in overrides)}" if overrides else str(path)
    try:
        experiment = parse_experiment(changed, source=str(path))
    except ExperimentError as error:
        raise ExperimentError(f"{where}: {error}") from None
    return replace(experiment, overrides=tuple(o.text for o in overrides))


def parse_experiment(document: Mapping[str, Any], *, source: str = "built-in") -> Experiment:
    top = _Table(document, "")
    name = top.get("name", str, required=True)
    if not name.strip():
        raise ExperimentError("name = '': expected a non-empty name")
    repeats = top.get("repeats", int, default=3)
    if not 1 <= repeats <= MAX_REPEATS:
        raise ExperimentError(f"repeats = {repeats}: expected an integer from 1 to {MAX_REPEATS}")
    generator_retries = top.get("generator_retries", int, default=DEFAULT_GENERATOR_RETRIES)
    _in_range(top, "generator_retries", generator_retries, 0, MAX_GENERATOR_RETRIES)
    load = _load(_Table(top.get("load", dict, required=True), "load"))
    data = _data(_Table(top.get("data", dict, default={}), "data"), load.seed)
    arms_raw = top.get("arms", list, required=True)
    arms = tuple(_arm(_Table(_mapping(raw, f"arms[{i}]"), f"arms[{i}]"), i) for i, raw in enumerate(arms_raw))
    if len(arms) < 2:
        raise ExperimentError(f"arms: {len(arms)} given; expected two or more [[arms]] to compare")
    names = [arm.name for arm in arms]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ExperimentError(f"arms: the name {duplicates[0]!r} is used twice; expected a unique name per arm")
    slos = tuple(_slo(text, i) for i, text in enumerate(top.get("slos", list, default=[])))
    description = top.get("description", str, default="")
    cpus = _placement(top)
    claim_table = top.get("claim", dict, default=None)
    claim = _claim(_Table(claim_table, "claim"), arms) if claim_table is not None else None
    quick = _Table(top.get("quick", dict, default={}), "quick")
    quick_users = quick.get("users", int, default=None)
    if quick_users is not None:
        _in_range(quick, "users", quick_users, 1, 100_000)
    quick_duration = quick.parsed("duration", parse_seconds, "a duration above zero like 20s", "0s")
    if "duration" in quick.values and quick_duration <= 0:
        raise ExperimentError(f"quick.duration = {quick.values['duration']!r}: expected a duration above zero")
    quick.no_other_keys()
    capacity_table = top.get("capacity", dict, default=None)
    capacity = _capacity(_Table(capacity_table, "capacity")) if capacity_table is not None else None
    faults = _faults(top.get("faults", list, default=[]), load)
    top.no_other_keys()
    return Experiment(
        name,
        load,
        data,
        repeats,
        arms,
        slos,
        description,
        source,
        cpus=cpus,
        claim=claim,
        quick_users=quick_users,
        quick_duration=quick_duration or None,
        capacity=capacity,
        generator_retries=generator_retries,
        faults=faults,
    )


def _faults(tables: list[Any], load: LoadSettings) -> tuple[FaultSpec, ...]:
    """[[faults]] with kind = KIND, at = DURATION and, for a lasting fault, for = DURATION."""
    faults = []
    for index, raw in enumerate(tables):
        table = _Table(_mapping(raw, f"faults[{index}]"), f"faults[{index}]")
        kind = table.get("kind", str, required=True)
        at = table.get("at", str, required=True)
        lasting = table.get("for", str, default=None)
        table.no_other_keys()
        try:
            faults.append(parse_fault(f"{kind}@{at}" + (f"+{lasting}" if lasting is not None else "")))
        except FaultSpecError as error:
            raise ExperimentError(f"faults[{index}]: {error}") from None
    try:
        check_schedule(faults, load.expected_seconds())
    except FaultSpecError as error:
        raise ExperimentError(f"faults: {error}") from None
    return tuple(faults)


class _Table:
    """One TOML table: typed access that names the key in every error, and a check for unknown keys."""

    def __init__(self, values: Mapping[str, Any], path: str) -> None:
        self.values = values
        self.path = path
        self.used: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, kind: type[T], *, required: bool = False, default: T | None = None) -> T:
        self.used.add(key)
        if key not in self.values:
            if required:
                raise ExperimentError(f"{self.key(key)} is missing; expected {_kind_name(kind)}")
            return default  # type: ignore[return-value]  # callers pass a default of the asked type
        value = self.values[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ExperimentError(f"{self.key(key)} = {value!r}: expected {_kind_name(kind)}")
        return value

    def parsed(self, key: str, parse: Callable[[str], T], expected: str, default: str) -> T:
        text = self.get(key, str, default=default)
        try:
            return parse(text)
        except ValueError:
            raise ExperimentError(f"{self.key(key)} = {text!r}: expected {expected}") from None

    def no_other_keys(self) -> None:
        unknown = sorted(set(self.values) - self.used)
        if unknown:
            where = f"[{self.path}]" if self.path else "the experiment"
            raise ExperimentError(f"{where} has no key {unknown[0]!r}; expected one of: {', '.join(sorted(self.used))}")


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "a table"}.get(
        kind, kind.__name__
    )


def _mapping(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ExperimentError(f"{path} = {value!r}: expected a table ([[arms]] with name = ..., target = ...)")
    return value


def _choice(table: _Table, key: str, choices: list[str], default: str | None) -> str:
    value = table.get(key, str, required=default is None, default=default)
    if value not in choices:
        raise ExperimentError(f"{table.key(key)} = {value!r}: expected one of {', '.join(choices)}")
    return value


def _in_range(table: _Table, key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ExperimentError(f"{table.key(key)} = {value:g}: expected a value from {low:g} to {high:g}")


def _load(table: _Table) -> LoadSettings:
    scenario = _choice(table, "scenario", sorted(SCENARIOS), None)
    mix = _choice(table, "mix", list(MIXES), DEFAULT_MIX)
    rate = table.get("rate", float, default=None)
    if rate is not None:
        _in_range(table, "rate", rate, 0.001, 1e7)
    users = table.get("users", int, default=1_000 if rate is None else max(10, math.ceil(rate)))
    _in_range(table, "users", users, 1, 100_000)
    spawn_rate = table.get("spawn_rate", float, default=max(1.0, users / (10.0 if rate is None else 2.0)))
    _in_range(table, "spawn_rate", spawn_rate, 0.001, 1e6)
    default_think = f"{DEFAULT_THINK_TIME[0]:g}s..{DEFAULT_THINK_TIME[1]:g}s"
    if rate is not None and "think_time" in table.values:
        raise ExperimentError("load.think_time belongs to the closed model; with load.rate the schedule paces actions")
    think_time = table.parsed(
        "think_time", parse_think_time, "MIN..MAX like 5s..15s, one duration, or 0", default_think
    )
    warmup = table.parsed("warmup", parse_seconds, "a duration like 10s", "10s")
    duration = table.parsed("duration", parse_seconds, "a duration above zero like 60s", "60s")
    if duration <= 0:
        raise ExperimentError(f"load.duration = {table.values['duration']!r}: expected a duration above zero")
    processes = table.get("processes", int, default=1)
    _in_range(table, "processes", processes, 1, min(64, users))
    skew = table.parsed("skew", parse_skew, SKEW_SYNTAX, "uniform")
    visibility_share = table.get("visibility_share", float, default=DEFAULT_VISIBILITY_SHARE)
    _in_range(table, "visibility_share", visibility_share, 0.0, 1.0)
    seed = table.get("seed", int, default=1)
    table.no_other_keys()
    return LoadSettings(
        scenario=scenario,
        mix=mix,
        users=users,
        spawn_rate=spawn_rate,
        rate=rate,
        duration=duration,
        warmup=warmup,
        processes=processes,
        think_time=think_time,
        skew=skew,
        visibility_share=visibility_share,
        seed=seed,
    )


def _data(table: _Table, seed: int) -> SeedSpec:
    sizes = {}
    for key, default in DATABASE_SIZES.items():
        sizes[key] = table.get(key, int, default=default)
        _in_range(table, key, sizes[key], 0 if key == "orders" else 1, 100_000_000)
    table.no_other_keys()
    return SeedSpec(sizes["accounts"], sizes["entries"], sizes["customers"], sizes["orders"], seed)


def _arm(table: _Table, index: int) -> Arm:
    name = table.get("name", str, required=True)
    target = table.get("target", str, default=None)
    host = table.get("host", str, default=None)
    if (target is None) == (host is None):
        raise ExperimentError(f"arms[{index}] ({name}): expected either target = NAME or host = URL")
    if target is not None and target not in target_names():
        raise ExperimentError(f"arms[{index}].target = {target!r}: expected one of {', '.join(target_names())}")
    if host is not None and not host.startswith(("http://", "https://")):
        raise ExperimentError(f"arms[{index}].host = {host!r}: expected a base URL like http://127.0.0.1:8000")
    keys_text = table.get("keys", str, default=None)
    if host is not None and keys_text is None:
        raise ExperimentError(f"arms[{index}] ({name}): an external host needs keys = DIR (from `bench seed`)")
    if target is not None and keys_text is not None:
        raise ExperimentError(f"arms[{index}].keys: only for host arms; a started target is seeded by the harness")
    keys = Path(keys_text) if keys_text is not None else None
    if keys is not None and not keys.is_dir():
        raise ExperimentError(f"arms[{index}].keys = {keys_text!r}: expected a directory of key files")
    arm = Arm(name=name, target=target, host=host.rstrip("/") if host else None, keys=keys)
    for key in ("workers", "projectors"):
        value = table.get(key, int, default=1)
        _in_range(table, key, value, 1, 64)
        arm = replace(arm, **{key: value})
    query_workers = table.get("query_workers", int, default=0)
    _in_range(table, "query_workers", query_workers, 0, 64)
    if query_workers and target not in query_side_targets():
        raise ExperimentError(
            f"arms[{index}].query_workers = {query_workers}: expected 0 for {target or 'a host arm'}, "
            f"whose query side does not run apart (only {', '.join(query_side_targets())} has one)"
        )
    arm = replace(arm, query_workers=query_workers)
    pool = table.get("pg_pool_size", int, default=16)
    _in_range(table, "pg_pool_size", pool, 1, 500)
    delay = table.parsed("floor_delay", lambda text: (parse_delay(text), text)[1], DELAY_SYNTAX, "none")
    try:
        settings = arm_settings(table.get("settings", dict, default={}), table.key("settings"), target)
    except TargetSettingError as error:
        raise ExperimentError(str(error)) from None
    table.no_other_keys()
    return replace(arm, pg_pool_size=pool, floor_delay=delay, settings=settings)


def _cpus(table: _Table) -> frozenset[int] | None:
    text = table.get("cpus", str, default=None)
    table.no_other_keys()
    if text is None:
        return None
    try:
        return parse_cpu_list(text)
    except ValueError:
        raise ExperimentError(f"{table.key('cpus')} = {text!r}: expected {CPU_LIST_SYNTAX}") from None


def _placement(top: _Table) -> CpuRequest:
    """[node] cpus and [generator] cpus, checked against the CPUs this process may use."""
    node = _cpus(_Table(top.get("node", dict, default={}), "node"))
    generator = _cpus(_Table(top.get("generator", dict, default={}), "generator"))
    request = CpuRequest(node=node, generator=generator)
    try:
        request.check(names=("node.cpus", "generator.cpus", "--co-located"))
    except PlacementError as error:
        raise ExperimentError(str(error)) from None
    return request


def _claim(table: _Table, arms: tuple[Arm, ...]) -> Claim:
    """[claim]: source, baseline and optimized arm names, rows = [{metric, baseline, optimized}, ...]."""
    from bench.report.metrics import BY_ID  # the report's metric ids; only files with a claim need them

    source = table.get("source", str, required=True)
    names = [arm.name for arm in arms]
    baseline = table.get("baseline", str, default=names[0])
    if baseline != names[0]:
        raise ExperimentError(
            f"claim.baseline = {baseline!r}: expected the experiment's baseline, its first arm ({names[0]!r}), "
            "against which every delta is measured"
        )
    optimized = _choice(table, "optimized", names[1:], None)
    rows = []
    for index, raw in enumerate(table.get("rows", list, required=True)):
        row = _Table(_mapping(raw, f"claim.rows[{index}]"), f"claim.rows[{index}]")
        metric = _choice(row, "metric", sorted([*BY_ID, WRITE_CAPACITY]), None)
        rows.append(
            ClaimRow(metric, row.get("baseline", float, required=True), row.get("optimized", float, required=True))
        )
        row.no_other_keys()
    if not rows:
        raise ExperimentError("claim.rows = []: expected at least one {metric, baseline, optimized}")
    table.no_other_keys()
    return Claim(source=source, baseline=baseline, optimized=optimized, rows=rows)


def _slo(text: object, index: int, key: str = "slos") -> Slo:
    if not isinstance(text, str):
        raise ExperimentError(f'{key}[{index}] = {text!r}: expected a string like "p95(reads) < 50ms"')
    try:
        return parse_slo(text)
    except ValueError as error:
        raise ExperimentError(f"{key}[{index}] = {text!r}: {error}") from None


def _fraction(text: str) -> float:
    """'10%' or '0.1': a fraction above 0 and below 1."""
    stripped = text.strip()
    found = float(stripped[:-1]) / 100.0 if stripped.endswith("%") else float(stripped)
    if not 0 < found < 1:
        raise ValueError(text)
    return found


def _capacity(table: _Table) -> CapacitySettings:
    texts = table.get("slos", list, required=True)
    if not texts:
        raise ExperimentError("capacity.slos = []: expected at least one SLO that the search's steps must meet")
    slos = tuple(_slo(text, i, "capacity.slos") for i, text in enumerate(texts))
    defaults = CapacitySettings(slos)
    mix = _choice(table, "mix", list(MIXES), defaults.mix)
    expected_fraction = 'a percentage above 0% and below 100% like "10%"'
    raw = table.values.get("resolution")
    if isinstance(raw, int | float) and not isinstance(raw, bool):  # resolution = 0.1
        raw = str(raw)
    if raw is not None and not isinstance(raw, str):
        raise ExperimentError(f"capacity.resolution = {raw!r}: expected {expected_fraction}")
    table.used.add("resolution")
    try:
        resolution = _fraction(raw) if raw is not None else defaults.resolution
    except ValueError:
        raise ExperimentError(
            f"capacity.resolution = {table.values['resolution']!r}: expected {expected_fraction}"
        ) from None
    step_duration = table.parsed(
        "step_duration", parse_seconds, "a duration above zero like 10s", f"{defaults.step_duration:g}s"
    )
    if step_duration <= 0:
        raise ExperimentError(
            f"capacity.step_duration = {table.values['step_duration']!r}: expected a duration above zero"
        )
    warmup = table.parsed("warmup", parse_seconds, "a duration like 3s", f"{defaults.warmup:g}s")
    start_rate = table.get("start_rate", float, default=defaults.start_rate)
    _in_range(table, "start_rate", start_rate, 0.001, 1e7)
    max_steps = table.get("max_steps", int, default=defaults.max_steps)
    _in_range(table, "max_steps", max_steps, 1, MAX_CAPACITY_STEPS)
    in_flight = table.get("in_flight", int, default=None)
    if in_flight is not None:
        _in_range(table, "in_flight", in_flight, 1, 100_000)
    table.no_other_keys()
    return CapacitySettings(slos, mix, resolution, step_duration, warmup, start_rate, max_steps, in_flight)
