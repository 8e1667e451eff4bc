"""Matching logged writes to the moves a store holds, account by account: which were kept, lost or doubled.

An acknowledged write names the version the target gave it: the store must hold, at that version of that
account, a move of the same kind and amount, and only one acknowledged write may claim a version. The store's
moves that no acknowledged write claims must each be explained by a write whose outcome the client never
learnt (same kind and amount, each used once); what is left was applied more often than it was sent: doubled.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bench.rundir.writes import WriteOutcome, WriteRecord

EXAMPLES_PER_PROBLEM = 3


@dataclass(frozen=True)
class StoredMove:
    entity: str
    version: int
    kind: str
    amount: int


@dataclass
class Tally:
    sent: int = 0
    acknowledged: int = 0
    present: int = 0
    lost: int = 0
    doubled: int = 0
    unknown: int = 0
    unknown_present: int = 0
    refused: int = 0
    retried: int = 0
    accounts: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def unknown_absent(self) -> int:
        return self.unknown - self.unknown_present

    def example(self, problem: str, sentence: str) -> None:
        kept = self.examples.setdefault(problem, [])
        if len(kept) < EXAMPLES_PER_PROBLEM:
            kept.append(sentence)


def judge(writes: Sequence[WriteRecord], moves: Iterable[StoredMove]) -> Tally:
    tally = Tally(sent=len(writes))
    by_entity: dict[str, list[WriteRecord]] = defaultdict(list)
    for write in writes:
        by_entity[write.entity].append(write)
        tally.retried += write.attempts > 1
        tally.acknowledged += write.outcome is WriteOutcome.ACKED
        tally.unknown += write.outcome is WriteOutcome.UNKNOWN
        tally.refused += write.outcome is WriteOutcome.REFUSED
    stored: dict[str, dict[int, StoredMove]] = defaultdict(dict)
    for move in moves:
        stored[move.entity][move.version] = move
    tally.accounts = len(by_entity)
    for entity, sent in by_entity.items():
        _judge_account(entity, sent, stored.get(entity, {}), tally)
    return tally


def _judge_account(entity: str, sent: list[WriteRecord], stored: dict[int, StoredMove], tally: Tally) -> None:
    unclaimed = dict(stored)
    acked = [write for write in sent if write.outcome is WriteOutcome.ACKED]
    for write in sorted(acked, key=lambda write: write.version or 0):
        move = unclaimed.pop(write.version, None) if write.version is not None else None
        if move is not None and (move.kind, move.amount) == (write.kind, write.amount):
            tally.present += 1
            continue
        tally.lost += 1
        found = stored.get(write.version) if write.version is not None else None
        there = (
            f"its version {write.version} is a {found.kind} of {found.amount}"
            if found is not None and move is not None
            else f"version {write.version} is claimed by another acknowledged write"
            if found is not None
            else f"the store has no version {write.version}"
        )
        said = f"{write.kind} of {write.amount} to {entity} acknowledged as version {write.version}"
        tally.example("lost", f"{said}: {there}")
        if move is not None:
            unclaimed[move.version] = move  # not this write's: another may explain it
    unknown = [(write.kind, write.amount) for write in sent if write.outcome is WriteOutcome.UNKNOWN]
    acked_moves = {(write.kind, write.amount) for write in acked}
    for move in sorted(unclaimed.values(), key=lambda move: move.version):
        if (move.kind, move.amount) in unknown:
            unknown.remove((move.kind, move.amount))
            tally.unknown_present += 1
            continue
        tally.doubled += 1
        like = (
            "the same as an acknowledged write"
            if (move.kind, move.amount) in acked_moves
            else "like no write the load generator sent"
        )
        tally.example("doubled", f"{entity} version {move.version}: a {move.kind} of {move.amount}, {like}")
