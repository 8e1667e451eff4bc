"""A fault as a user writes it, `KIND@AT[+FOR]` ('kill-projector@20s', 'pause-projector@20s+5s'), checked once.

AT counts from the start of the load (the moment Locust is started); FOR is how long a fault that lasts
(a paused projector) lasts, and only such faults take one.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from bench.durations import parse_seconds


class FaultKind(StrEnum):
    KILL_PROJECTOR = "kill-projector"  # SIGKILL projector 0; the run's supervisor starts it again
    PAUSE_PROJECTOR = "pause-projector"  # SIGSTOP projector 0, SIGCONT after FOR
    KILL_WORKER = "kill-worker"  # SIGKILL one API worker; uvicorn's supervisor starts another (--workers >= 2)
    FLUSH_REDIS = "flush-redis"  # the read models lost: FLUSHDB on the target's Redis database
    RESTART_REDIS = "restart-redis"  # the embedded Redis stopped and started on its port, without its data
    RESTART_POSTGRES = "restart-postgres"  # the embedded PostgreSQL: fast shutdown, then started on the same data


LASTING = frozenset({FaultKind.PAUSE_PROJECTOR})
DEFAULT_LASTING_S = 5.0
KINDS = ", ".join(kind.value for kind in FaultKind)


class FaultSpecError(ValueError):
    pass


class FaultSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kind: FaultKind
    at_s: float  # seconds after the load's start
    for_s: float | None = None  # how long a lasting fault lasts; None for the others

    @property
    def text(self) -> str:
        lasting = f"+{self.for_s:g}s" if self.for_s is not None else ""
        return f"{self.kind.value}@{self.at_s:g}s{lasting}"


def parse_fault(text: str) -> FaultSpec:
    """'KIND@AT[+FOR]' -> FaultSpec; FaultSpecError with a sentence saying what was expected."""
    expected = f"expected KIND@AT[+FOR], like kill-projector@20s or pause-projector@20s+5s, with KIND one of {KINDS}"
    name, at_sign, when = text.strip().partition("@")
    if not at_sign:
        raise FaultSpecError(f"{text!r} has no @AT; {expected}")
    try:
        kind = FaultKind(name.strip())
    except ValueError:
        raise FaultSpecError(f"{text!r}: {name.strip()!r} is not a fault; {expected}") from None
    at_text, plus, for_text = when.partition("+")
    try:
        at_s = parse_seconds(at_text)
        for_s = parse_seconds(for_text) if plus else None
    except ValueError as error:
        raise FaultSpecError(f"{text!r}: {error}") from None
    if for_s is not None and kind not in LASTING:
        raise FaultSpecError(f"{text!r}: {kind.value} is over at once and takes no +FOR; {expected}")
    if kind in LASTING:
        for_s = DEFAULT_LASTING_S if for_s is None else for_s
        if for_s <= 0:
            raise FaultSpecError(f"{text!r}: +FOR must be more than 0 s")
    return FaultSpec(kind, at_s, for_s)


def check_schedule(faults: list[FaultSpec], load_seconds: float) -> None:
    """Every fault must start within the load, so that the run sees it and what follows it."""
    late = [fault.text for fault in faults if fault.at_s >= load_seconds]
    if late:
        raise FaultSpecError(
            f"{', '.join(late)} would start after the load ends ({load_seconds:g} s of ramp, warm-up and duration); "
            "expected AT within the load"
        )
