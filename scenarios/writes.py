"""The load generator's side of the acknowledged-writes check: each write's key, retries, and its logged outcome.

A careful client sends every write with an Idempotency-Key and, when an attempt ends without an answer it can
trust (no response, 408, 429 or a 5xx), sends it again with the same key, a bounded number of times, waiting
longer each time (at least what Retry-After asks, at most MAX_BACKOFF_S). The outcome goes to this process's
file under writes/ (bench.rundir.writes), which the harness checks against the store after the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import msgspec

from bench.rundir.writes import WriteOutcome, WriteRecord

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_ATTEMPTS = 4  # the first and three retries
FIRST_BACKOFF_S = 0.05
MAX_BACKOFF_S = 2.0
RETRYABLE = frozenset({0, 408, 429, 500, 502, 503, 504})


def outcome_of(status: int) -> WriteOutcome | None:
    """What an attempt's status says of the write: None when it says nothing (another attempt may)."""
    if 200 <= status < 300:
        return WriteOutcome.ACKED
    if status in RETRYABLE:
        return None
    return WriteOutcome.REFUSED


def backoff_s(attempt: int, retry_after: str | None) -> float:
    """How long to wait after failed attempt `attempt` (1, 2, ...)."""
    wait = FIRST_BACKOFF_S * 2.0 ** (attempt - 1)
    try:
        asked = float(retry_after) if retry_after else 0.0
    except ValueError:
        asked = 0.0  # an HTTP date: not sent by these targets; the backoff stands
    return min(MAX_BACKOFF_S, max(wait, asked))


class WriteLog:
    """One Locust process's writes/*.jsonl, appended as outcomes are known."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = path.open("ab")
        self._encoder = msgspec.json.Encoder()

    def record(self, write: WriteRecord) -> None:
        self._file.write(self._encoder.encode(write) + b"\n")

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()
