"""Figures as the tables show them: a mean with its interval, a delta with its interval and significance."""

from __future__ import annotations

from bench.report.document import DeltaEntry, EstimateEntry

SPACE_BEFORE_UNIT = {"%": False}


def number(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 100 or (value == int(value) and magnitude < 1e15):
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:,.1f}"
    if magnitude >= 0.01:
        return f"{value:,.2f}"
    return f"{value:.2g}"


def with_unit(text: str, unit: str) -> str:
    return f"{text}{unit}" if not SPACE_BEFORE_UNIT.get(unit, True) else f"{text} {unit}"


def interval(ci: tuple[float, float] | None) -> str:
    return f"[{number(ci[0])}, {number(ci[1])}]" if ci else ""


def estimate_cell(entry: EstimateEntry, unit: str) -> str:
    """'5.32 ms [5.30, 5.35]'; with one repetition '5.32 ms (n=1, no CI)'; without a value: why not."""
    if entry.mean is None:
        return f"n/a: {entry.missing}"
    shown = with_unit(number(entry.mean), unit)
    if entry.ci is None:
        return f"{shown} (n={entry.n}, no CI)"
    return f"{shown} {interval(entry.ci)}"


def signed(value: float) -> str:
    return ("+" if value > 0 else "") + number(value)


def delta_cell(entry: DeltaEntry, unit: str, better: str) -> str:
    """'+4.02 ms (+75.5%) [3.95, 4.10], significant, worse' or '..., not significant'."""
    if entry.absolute is None:
        return f"n/a: {entry.note}"
    relative = f" ({signed(entry.relative_percent)}%)" if entry.relative_percent is not None else ""
    shown = with_unit(signed(entry.absolute), unit) + relative
    if entry.ci is None:
        return f"{shown}, not significant ({entry.note})"
    if not entry.significant:
        return f"{shown} {interval(entry.ci)}, not significant"
    if better == "neutral":
        return f"{shown} {interval(entry.ci)}, significant"
    improved = (entry.absolute < 0) == (better == "lower")
    return f"{shown} {interval(entry.ci)}, significant, {'better' if improved else 'worse'}"
