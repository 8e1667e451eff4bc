"""What `bench benchmark targets` measured: one row per (target, load), and the ratios the targets are judged by.

Every ratio is computed from the rows of the same run; the goals are the issue's (12, item 5).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from bench.benchmarks.measured import Measured

PGBENCH = "pgbench"  # the `target` of the rows pgbench measured


class Row(msgspec.Struct, frozen=True):
    target: str  # floor, crud, cqrs, or PGBENCH
    load: str  # health, get_account, statement, deposit, deposit_hot; crud_deposit, cqrs_append for pgbench
    name: str  # what was driven: "GET /accounts/{id}", or the statement pgbench ran
    description: str
    connections: int
    measured: Measured

    @property
    def id(self) -> str:
        return f"{self.target}.{self.load}"


class Ratio(msgspec.Struct, frozen=True):
    name: str
    numerator: str  # Row.id
    denominator: str  # Row.id
    value: float
    goal: str  # e.g. ">= 0.5"; "" for a ratio shown without one
    met: bool | None  # None without a goal


class TargetsBenchmark(msgspec.Struct, frozen=True):
    seconds: float
    warmup_seconds: float
    connections: int
    threads: int
    workers: int
    accounts: int
    deposits: int
    http_generator: str
    http_generator_limit: str  # "" for wrk; Locust's ceiling otherwise
    pgbench_database: str  # which PostgreSQL and database pgbench ran on
    rows: list[Row]
    ratios: list[Ratio]
    problems: list[str]  # a row with errors, a goal's row missing: empty when the run is valid

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Judged:
    name: str
    numerator: str
    denominator: str
    at_least: float | None  # the goal: value >= at_least; None: shown without one
    latency: bool = False  # the worst of the numerator's p50/p90/p99 over the denominator's; the goal: below 1


JUDGED = (
    Judged("cqrs GET account / floor GET /health (req/s)", "cqrs.get_account", "floor.health", 0.5),
    Judged("cqrs GET statement / floor GET /health (req/s)", "cqrs.statement", "floor.health", 0.5),
    Judged("cqrs / crud GET account latency, worst of p50 p90 p99", "cqrs.get_account", "crud.get_account", None, True),
    Judged("cqrs / crud GET statement latency, worst of p50 p90 p99", "cqrs.statement", "crud.statement", None, True),
    Judged("cqrs GET account / crud GET account (req/s)", "cqrs.get_account", "crud.get_account", None),
    Judged("cqrs GET statement / crud GET statement (req/s)", "cqrs.statement", "crud.statement", None),
    Judged("cqrs deposit / crud deposit (req/s)", "cqrs.deposit", "crud.deposit", 2.0),
    Judged("cqrs deposit / pgbench cqrs append (req/s)", "cqrs.deposit", f"{PGBENCH}.cqrs_append", 0.5),
    Judged("crud deposit / pgbench crud deposit (req/s)", "crud.deposit", f"{PGBENCH}.crud_deposit", None),
    Judged("cqrs hot deposit / crud hot deposit (req/s)", "cqrs.deposit_hot", "crud.deposit_hot", None),
)


def _latency_ratio(numerator: Measured, denominator: Measured) -> float:
    pairs = [
        (numerator.latency.p50_ms, denominator.latency.p50_ms),
        (numerator.latency.p90_ms, denominator.latency.p90_ms),
        (numerator.latency.p99_ms, denominator.latency.p99_ms),
    ]
    return max(n / d if d > 0 else float("inf") for n, d in pairs)


def ratios(rows: list[Row]) -> list[Ratio]:
    """The JUDGED ratios whose two rows were measured (the hot deposit rows are optional)."""
    by_id = {row.id: row.measured for row in rows}
    found = []
    for judged in JUDGED:
        numerator, denominator = by_id.get(judged.numerator), by_id.get(judged.denominator)
        if numerator is None or denominator is None:
            continue
        if judged.latency:
            value = _latency_ratio(numerator, denominator)
            found.append(Ratio(judged.name, judged.numerator, judged.denominator, value, "< 1 at each", value < 1))
            continue
        rate = denominator.requests_per_second
        value = numerator.requests_per_second / rate if rate > 0 else float("inf")
        goal = "" if judged.at_least is None else f">= {judged.at_least:g}"
        met = None if judged.at_least is None else value >= judged.at_least
        found.append(Ratio(judged.name, judged.numerator, judged.denominator, value, goal, met))
    return found


def problems(rows: list[Row]) -> list[str]:
    """A sentence for each row whose figures cannot be taken as the target's."""
    found = []
    for row in rows:
        measured = row.measured
        if measured.errors or measured.requests == 0:
            detail = f": {measured.detail}" if measured.detail else ""
            found.append(f"{row.id} ({row.name}): {measured.errors} errors in {measured.requests} requests{detail}")
        if measured.saturated:
            found.append(f"{row.id} ({row.name}): the load generator saturated its CPU; its latencies are its own")
    return found
