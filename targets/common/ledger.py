"""How the acknowledged-writes check reads a target's money movements: three queries, one per question.

Each target that keeps accounts gives its own (its description's `ledger`), beside its schema, so the
harness needs no knowledge of how a store lays them out. Entities are account ids (uuid); kinds are
"deposit" and "withdrawal".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MoneyLedger:
    versions: str  # () -> (entity, version) of every account: the snapshot taken before the load
    moves: str  # ($1 uuid[], $2 bigint[]) -> (entity, version, kind, amount) of each account's moves after $2
    accounts: str  # ($1 uuid[]) -> (entity, version, balance) as the store has them now
