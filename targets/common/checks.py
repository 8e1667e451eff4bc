"""A data check's result: what each target's checks return after a run (no overdraft, nothing lost, ...).

Defined here, beside the targets, because each target's checks live in its own package; the
harness stores them in the run directory (bench/rundir) as they are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    import asyncpg


class DataCheck(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    passed: bool
    detail: str


def count_check(name: str, bad: int, what: str, total: int | None = None) -> DataCheck:
    """Passed iff `bad` is zero; the detail says how many of how many were `what`."""
    of = f" of {total:,}" if total is not None else ""
    return DataCheck(name, bad == 0, f"none{of} {what}" if bad == 0 else f"{bad:,}{of} {what}")


# A target's checks: given a connection to its database and its base URL, after the load stopped.
DataChecker = Callable[["asyncpg.Connection", str], Awaitable[list[DataCheck]]]
