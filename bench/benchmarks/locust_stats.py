"""Locust's own JSON statistics (`--json-file`) read back as structs, and the rates a benchmark takes from them.

Not latencies: Locust keeps response times rounded to whole milliseconds (10 ms above 100 ms);
a locustfile that records HdrHistograms gives those (see launcher.LocustJob.histogram_dir_env).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec


class LocustEntry(msgspec.Struct, frozen=True):
    """One request name of Locust's StatsEntry.serialize(), the fields read here."""

    name: str
    method: str
    num_requests: int
    num_failures: int
    start_time: float
    last_request_timestamp: float | None
    response_times: dict[int, int]  # rounded milliseconds -> count
    num_reqs_per_sec: dict[int, int]  # unix second -> requests completed in it


def read_entries(path: Path) -> list[LocustEntry]:
    return msgspec.json.decode(path.read_bytes(), type=list[LocustEntry])


def total_rate(entries: Sequence[LocustEntry]) -> float:
    """Requests/s from the first request to the last, as Locust's "Requests/s" of its Aggregated row."""
    requests = sum(entry.num_requests for entry in entries)
    start = min((entry.start_time for entry in entries), default=0.0)
    end = max((entry.last_request_timestamp or 0.0 for entry in entries), default=0.0)
    return requests / (end - start) if end > start else 0.0


def steady_rate(entries: Sequence[LocustEntry], warmup: float) -> float | None:
    """Requests/s over the whole seconds after `warmup` s from the first one, the last (partial) second left out."""
    per_second: dict[int, int] = {}
    for entry in entries:
        for second, count in entry.num_reqs_per_sec.items():
            per_second[second] = per_second.get(second, 0) + count
    if not per_second:
        return None
    first, last = min(per_second), max(per_second)
    steady = range(first + round(warmup), last)
    if not steady:
        return None
    return sum(per_second.get(second, 0) for second in steady) / len(steady)
