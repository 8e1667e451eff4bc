"""Option types whose errors say what was expected: durations, think times, key skew, delays, faults, fractions,
counts."""

from __future__ import annotations

from typing import Any

import click

from bench.durations import parse_seconds, parse_think_time
from bench.faults.spec import FaultSpec, FaultSpecError, parse_fault
from bench.infra.cpus import parse_cpu_list
from scenarios.keys import SKEW_SYNTAX, Skew, parse_skew
from targets.common.delay import DELAY_SYNTAX, parse_delay


class Duration(click.ParamType[float]):
    name = "DURATION"

    def __init__(self, *, allow_zero: bool = False) -> None:
        self.allow_zero = allow_zero

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float | int):
            return float(value)
        try:
            seconds = parse_seconds(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if seconds == 0 and not self.allow_zero:
            self.fail(f"{value!r} is no time at all; expected a duration above zero, e.g. 30s", param, ctx)
        return seconds


class ThinkTime(click.ParamType[tuple[float, float]]):
    """'5s..15s' (uniform between), '2s' (always), or '0' (no thinking)."""

    name = "MIN..MAX"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[float, float]:
        if isinstance(value, tuple):
            return value
        try:
            return parse_think_time(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


class SkewType(click.ParamType[Skew]):
    name = "uniform|zipf:S"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Skew:
        if isinstance(value, Skew):
            return value
        try:
            return parse_skew(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a key skew; expected {SKEW_SYNTAX}", param, ctx)


class DelayType(click.ParamType[str]):
    name = "DELAY"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            parse_delay(str(value))
        except ValueError as exc:
            self.fail(f"{exc} (expected {DELAY_SYNTAX})" if "expected" not in str(exc) else str(exc), param, ctx)
        return str(value)


class FaultType(click.ParamType[FaultSpec]):
    name = "KIND@AT[+FOR]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> FaultSpec:
        if isinstance(value, FaultSpec):
            return value
        try:
            return parse_fault(str(value))
        except FaultSpecError as exc:
            self.fail(str(exc), param, ctx)


class Fraction(click.ParamType[float]):
    """'30%' or 0.3: a fraction from 0 up to (not including) 1."""

    name = "FRACTION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip()
        try:
            found = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
        except ValueError:
            self.fail(f"{value!r} is not a fraction; expected e.g. 30% or 0.3", param, ctx)
        if not 0 <= found < 1:
            self.fail(f"{value!r}: expected a fraction from 0% up to (not including) 100%", param, ctx)
        return found


class Counts(click.ParamType[tuple[int, ...]]):
    """'1,2,4': distinct whole numbers of at least 1, in the order given."""

    name = "N,N,..."

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, ...]:
        if isinstance(value, tuple):
            return value
        try:
            counts = tuple(int(part) for part in str(value).split(","))
        except ValueError:
            expected = "expected whole numbers separated by commas, e.g. 1,2,4"
            self.fail(f"{value!r} is not a list of counts; {expected}", param, ctx)
        if min(counts) < 1 or len(set(counts)) != len(counts):
            self.fail(f"{value!r}: expected distinct whole numbers of at least 1, e.g. 1,2,4", param, ctx)
        return counts


class CpuList(click.ParamType[frozenset[int]]):
    """`1`, `0,2`, `2-3`: CPU numbers as taskset and Cpus_allowed_list write them."""

    name = "CPUS"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> frozenset[int]:
        if isinstance(value, frozenset):
            return value
        try:
            return parse_cpu_list(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)
