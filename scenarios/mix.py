"""The action mix: which actions a scenario's users take, and how often. Importable without Locust.

The mix (`--bench-mix`) sets the share of reads, `--bench-visibility-share` the share of
visibility probes, and within reads or writes each action keeps its domain's relative weight.
An action names a method of the domain's user class (scenarios/users/).
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Action:
    method: str  # name of a method of the user class
    kind: Literal["read", "write", "probe"]
    weight: float


@dataclass(frozen=True)
class Domain:
    name: str
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class ActionPlan:
    """Weighted choice among actions, fixed for a user class and the run's options."""

    methods: tuple[str, ...]
    cumulative: tuple[float, ...]

    def pick(self, rng: random.Random) -> str:
        point = rng.random() * self.cumulative[-1]
        return self.methods[min(bisect.bisect_right(self.cumulative, point), len(self.methods) - 1)]


def plan_for(domains: tuple[Domain, ...], *, read_share: float, probe_share: float) -> ActionPlan:
    shares = {
        "read": (1 - probe_share) * read_share,
        "write": (1 - probe_share) * (1 - read_share),
        "probe": probe_share,
    }
    weighted: list[tuple[str, float]] = []
    for domain in domains:
        for kind, share in shares.items():
            of_kind = [action for action in domain.actions if action.kind == kind]
            total = sum(action.weight for action in of_kind)
            weighted += [(a.method, share * a.weight / total / len(domains)) for a in of_kind if share > 0]
    if not weighted:
        raise ValueError("the mix leaves no action to run")
    return ActionPlan(tuple(m for m, _ in weighted), tuple(itertools.accumulate(w for _, w in weighted)))


BANKING = Domain(
    "banking",
    (
        Action("get_account", "read", 0.6),
        Action("statement", "read", 0.4),
        Action("deposit", "write", 0.55),
        Action("withdraw", "write", 0.45),
        Action("probe_account_visibility", "probe", 1.0),
    ),
)

ORDERS = Domain(
    "orders",
    (
        Action("get_order", "read", 0.5),
        Action("customer_orders", "read", 0.5),
        Action("create_order", "write", 0.4),
        Action("pay_order", "write", 0.3),
        Action("ship_order", "write", 0.2),
        Action("cancel_order", "write", 0.1),
        Action("probe_order_visibility", "probe", 1.0),
    ),
)
