"""Option types whose errors say what was expected: durations, think times, key skew, delays."""

from __future__ import annotations

import re
from typing import Any

import click

from scenarios.keys import SKEW_SYNTAX, Skew, parse_skew
from targets.common.delay import DELAY_SYNTAX, parse_delay

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_seconds(text: str) -> float:
    """'30s', '2m', '1.5h', '500ms' or a bare number of seconds -> seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration; expected e.g. 30s, 2m, 1h or 500ms")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_think_time(text: str) -> tuple[float, float]:
    """'5s..15s' (uniform between), '2s' (always), or '0' (no thinking) -> (min, max) seconds."""
    low_text, separator, high_text = text.partition("..")
    try:
        low = parse_seconds(low_text)
        high = parse_seconds(high_text) if separator else low
    except ValueError:
        raise ValueError(f"{text!r} is not a think time; expected MIN..MAX like 5s..15s, one duration, or 0") from None
    if low > high:
        raise ValueError(f"{text!r}: expected MIN <= MAX")
    return low, high


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
