"""Durations as people write them: '30s', '2m', '500ms'; and think times, a range of two of them."""

from __future__ import annotations

import re

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
