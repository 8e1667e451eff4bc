"""writes/*.jsonl: every money movement the load generator sent, and what it learnt of its outcome.

One file per Locust process that runs users, one JSON object per line, written as outcomes are known and
flushed every second. A write is `acked` (a 2xx, with the version the target returned), `refused` (an
answer of the contract that it did not happen: 409 insufficient funds, a 4xx) or `unknown` (every attempt
ended without an answer the client could trust: a reset, a timeout, a 5xx). Attempts of one write share
its Idempotency-Key, so a write is one line however often it was retried.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

WRITES_DIR = "writes"


class WriteOutcome(StrEnum):
    ACKED = "acked"
    REFUSED = "refused"
    UNKNOWN = "unknown"


class WriteRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: str  # the Idempotency-Key every attempt carried
    entity: str  # the account's id
    kind: str  # "deposit" or "withdrawal", as the store names it
    amount: int
    outcome: WriteOutcome
    version: int | None  # the version an acked write returned; None otherwise
    attempts: int
    status: int  # the last attempt's HTTP status; 0: no response (reset, timeout)
    at: float  # Unix time the outcome was known


def file_name(worker: int, pid: int) -> str:
    return f"{WRITES_DIR}/{worker}-{pid}.jsonl"


class WriteCheck(msgspec.Struct, forbid_unknown_fields=True):
    """acknowledged.json: every logged write held against the store and the read side, after the run."""

    checked: bool
    why_not_checked: str | None = None
    sent: int = 0  # writes logged (each once, however many attempts)
    acknowledged: int = 0
    present: int = 0  # acknowledged, and in the store once, at the version and with the amount acknowledged
    lost: int = 0  # acknowledged, and not in the store as acknowledged
    doubled: int = 0  # moves in the store beyond what the writes sent explain (a retry applied twice, say)
    unknown: int = 0  # no trustworthy answer to any attempt
    unknown_present: int = 0  # ... and in the store (once: a second would count as doubled)
    unknown_absent: int = 0
    refused: int = 0
    retried: int = 0  # writes that took more than one attempt
    accounts: int = 0  # accounts written to
    read_side_checked: int = 0  # of those accounts, read through the API once it had caught up (at most 2,000)
    read_side_wrong: int = 0  # ... whose version or balance differed from the store's
    unreadable_lines: int = 0  # log lines cut short (a generator that did not stop cleanly)
    examples: list[str] = msgspec.field(default_factory=list)  # the first few of each problem, for people
    seconds: float | None = None

    @property
    def passed(self) -> bool | None:
        if not self.checked:
            return None
        return self.lost == 0 and self.doubled == 0 and self.read_side_wrong == 0
