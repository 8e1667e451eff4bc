"""The one exception type the benchmarks raise, and how they tell of their progress."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], object]  # takes one line about what a benchmark is doing (`bench benchmark`: on stderr)


class BenchmarkError(ValueError):
    """A benchmark could not measure what it was asked to; the message says what went wrong."""


def quiet(line: str) -> None:
    """Progress told to no one."""
