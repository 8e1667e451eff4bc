"""Service-level objectives such as "p95(reads) < 50ms" or "errors<0.1%": parsed once, checked per run or arm.

An arm meets an SLO when the mean over its valid repetitions does; a metric that was not
measured fails the SLO, since a CI gate must not pass on what nobody checked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bench.report.groups import ALL, GROUPS
from bench.report.metrics import RunMetrics, errors_id, latency_id

SLO_SYNTAX = (
    "METRIC[(GROUP)] < LIMIT, e.g. 'p99<100ms', 'p95(reads) < 50ms', 'mean < 0.2s' or 'errors<0.1%' "
    "(METRIC: mean, p50, p95, p99, p99.9 or errors; GROUP: reads, heavy reads or writes; "
    "a latency LIMIT in us, ms or s, an error LIMIT in %)"
)
_FORM = re.compile(
    r"^\s*(?P<stat>[A-Za-z][A-Za-z0-9.]*)\s*(?:\(\s*(?P<group>[^()]*?)\s*\))?\s*(?P<op><=|<)\s*"
    r"(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>[A-Za-zµ%]*)\s*$"
)
_STATS = {"mean": "mean", "p50": "p50", "p95": "p95", "p99": "p99", "p99.9": "p999", "p999": "p999", "errors": "errors"}
_TIME_UNITS_MS = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0}
_GROUP_SPELLINGS = {group.replace(" ", sep): group for group in GROUPS for sep in (" ", "-", "_")}


@dataclass(frozen=True)
class Slo:
    text: str
    stat: str  # mean, p50, p95, p99, p999 or errors
    group: str  # ALL or one of the endpoint groups
    limit: float  # milliseconds, or percent for errors
    inclusive: bool  # "<=" rather than "<"

    @property
    def metric_id(self) -> str:
        return errors_id(self.group) if self.stat == "errors" else latency_id(self.group, self.stat)

    @property
    def unit(self) -> str:
        return "%" if self.stat == "errors" else "ms"

    def met_by(self, value: float) -> bool:
        return value <= self.limit if self.inclusive else value < self.limit

    def describe_limit(self) -> str:
        return f"{'<=' if self.inclusive else '<'} {self.limit:g} {self.unit}"


@dataclass(frozen=True)
class SloResult:
    slo: Slo
    passed: bool
    value: float | None
    detail: str


def parse_slo(text: str) -> Slo:
    match = _FORM.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an SLO; expected {SLO_SYNTAX}")
    stat = _STATS.get(match["stat"].lower())
    if stat is None:
        raise ValueError(f"{text!r}: unknown metric {match['stat']!r}; expected mean, p50, p95, p99, p99.9 or errors")
    group = ALL if match["group"] is None else _GROUP_SPELLINGS.get(re.sub(r"\s+", " ", match["group"].lower()))
    if group is None:
        raise ValueError(f"{text!r}: unknown endpoint group {match['group']!r}; expected reads, heavy reads or writes")
    number, unit = float(match["number"]), match["unit"].lower()
    if stat == "errors":
        if unit != "%":
            raise ValueError(f"{text!r}: an error rate limit is a percentage, like 0.1%; got {unit or 'no unit'!r}")
        limit = number
    else:
        if unit not in _TIME_UNITS_MS:
            raise ValueError(
                f"{text!r}: a latency limit needs a time unit (us, ms or s), like 100ms or 0.2s; got {unit or 'none'!r}"
            )
        limit = number * _TIME_UNITS_MS[unit]
    return Slo(text=text.strip(), stat=stat, group=group, limit=limit, inclusive=match["op"] == "<=")


def parse_slos(texts: Sequence[str]) -> list[Slo]:
    return [parse_slo(text) for text in texts]


def _verdict(slo: Slo, value: float, measured: str) -> SloResult:
    passed = slo.met_by(value)
    shown = f"{value:.4g} {slo.unit}"
    return SloResult(
        slo, passed, value, f"{measured} {shown}, {'meets' if passed else 'misses'} {slo.describe_limit()}"
    )


def check_run(slo: Slo, metrics: RunMetrics) -> SloResult:
    value = metrics.values.get(slo.metric_id)
    if value is None:
        return SloResult(slo, False, None, f"not measured: {metrics.missing.get(slo.metric_id, 'no value')}")
    return _verdict(slo, value, "measured")


def check_arm(slo: Slo, valid_runs: Sequence[RunMetrics]) -> SloResult:
    """Pass iff the mean over the arm's valid repetitions meets the SLO."""
    if not valid_runs:
        return SloResult(slo, False, None, "no valid repetition to judge")
    values = [value for run in valid_runs if (value := run.values.get(slo.metric_id)) is not None]
    if not values:
        why = next((run.missing[slo.metric_id] for run in valid_runs if slo.metric_id in run.missing), "no value")
        return SloResult(slo, False, None, f"not measured: {why}")
    return _verdict(slo, sum(values) / len(values), f"mean over {len(values)} valid repetition(s)")
