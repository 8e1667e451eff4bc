"""Nodes needed for R requests/s at the SLO, with headroom H.

A node is whatever the scale-out sweep counted (a target worker on this machine, say), and its
capacity C(k) is the highest rate at the SLO that k of them sustained together. Headroom H plans to
run at (1 - H) of the limit: H = 0.3 runs the nodes at 70% of what they can take within the SLO.

    measured:  the smallest measured k with (1 - H) * C(k) >= R
    usl:       the smallest N with (1 - H) * X(N) >= R, X the fitted Universal Scalability Law
    linear:    N = ceil(R / ((1 - H) * C(K) / K)), K the largest count measured

`plan_nodes` prefers a measurement to a model and the model to the linear extrapolation, which
assumes that each node past K adds as much as the average of the first K (optimistic wherever
contention grows with nodes, as it does around one shared database).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from bench.capacity.usl import UslResult

Method = Literal["measured", "usl", "linear"]

MAX_NODES = 10_000  # where the model is searched for enough nodes
# (1 - H) * C is not always exact in floating point (0.7 * 107 < 74.9), and a plan must not add a node for that.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class NodePlan:
    target_rate: float
    headroom: float
    nodes: int | None  # None: refused, and the explanation says why
    method: Method | None
    capacity: float | None  # the limit at the SLO of that many nodes, measured or modelled
    explanation: str  # one sentence

    @property
    def refused(self) -> bool:
        return self.nodes is None

    @property
    def usable_rate(self) -> float | None:
        """What the planned nodes are meant to carry at most: (1 - H) of their capacity."""
        return (1 - self.headroom) * self.capacity if self.capacity is not None else None

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"refused": self.refused, "usable_rate": self.usable_rate}


def plan_nodes(
    target_rate: float,
    headroom: float,
    *,
    measured: Mapping[int, float | None] | None = None,
    fit: UslResult | None = None,
) -> NodePlan:
    """The measurement if one measured count suffices, else the USL fit if it was not refused, else linear."""
    _check(target_rate, headroom)
    known = _known(measured or {})
    enough = [count for count, capacity in sorted(known.items()) if _meets(capacity, target_rate, headroom)]
    if enough:
        return NodePlan(
            target_rate,
            headroom,
            enough[0],
            "measured",
            known[enough[0]],
            f"{enough[0]} nodes carried {known[enough[0]]:,.0f}/s at the SLO, of which {1 - headroom:.0%} "
            f"covers {target_rate:,.0f}/s.",
        )
    if fit is not None and not fit.refused:
        return plan_from_usl(target_rate, headroom, fit)
    if known:
        return plan_linear(target_rate, headroom, known)
    if fit is not None:
        return plan_from_usl(target_rate, headroom, fit)
    return _refused(target_rate, headroom, "the limit at the SLO is unknown or zero for every node count measured")


def plan_from_usl(target_rate: float, headroom: float, fit: UslResult) -> NodePlan:
    """The smallest N with (1 - H) * X(N) >= R on the fitted curve, N up to MAX_NODES."""
    _check(target_rate, headroom)
    if fit.refused:
        return _refused(target_rate, headroom, f"the scalability fit was refused: {fit.reason}")
    counts = np.arange(1, MAX_NODES + 1)
    capacities = fit.throughput(counts)
    enough = np.flatnonzero(capacities * (1 - headroom) >= target_rate * (1 - TOLERANCE))
    if enough.size == 0:
        if fit.peak_concurrency is not None and fit.peak_throughput is not None:
            short = f"the model peaks at {fit.peak_throughput:,.0f}/s with {fit.peak_concurrency:,.1f} nodes"
        else:
            short = f"the model does not reach it within {MAX_NODES:,} nodes"
        return _refused(
            target_rate, headroom, f"{target_rate:,.0f}/s is out of reach at {headroom:.0%} headroom: {short}"
        )
    nodes = int(counts[enough[0]])
    capacity = float(capacities[enough[0]])
    measured_up_to = fit.concurrency_range[1]
    beyond = f", beyond the {measured_up_to:g} measured: an extrapolation" if nodes > measured_up_to else ""
    return NodePlan(
        target_rate,
        headroom,
        nodes,
        "usl",
        capacity,
        f"The fitted scalability law gives {nodes} nodes {capacity:,.0f}/s at the SLO, of which {1 - headroom:.0%} "
        f"covers {target_rate:,.0f}/s{beyond}.",
    )


def plan_linear(target_rate: float, headroom: float, measured: Mapping[int, float | None]) -> NodePlan:
    """N = ceil(R / ((1 - H) * C(K) / K)), from the largest count K whose limit is known."""
    _check(target_rate, headroom)
    known = _known(measured)
    if not known:
        return _refused(target_rate, headroom, "the limit at the SLO is unknown or zero for every node count measured")
    largest = max(known)
    best = max(known, key=lambda count: known[count])
    if known[best] > known[largest]:
        return _refused(
            target_rate,
            headroom,
            f"capacity peaked at {known[best]:,.0f}/s with {best} nodes and fell with more, so adding nodes "
            f"will not reach {target_rate:,.0f}/s",
        )
    per_node = known[largest] / largest
    nodes = max(1, math.ceil(target_rate / ((1 - headroom) * per_node) * (1 - TOLERANCE)))
    return NodePlan(
        target_rate,
        headroom,
        nodes,
        "linear",
        nodes * per_node,
        f"At {per_node:,.0f}/s per node (as measured with {largest}), {nodes} nodes at {1 - headroom:.0%} of their "
        f"limit cover {target_rate:,.0f}/s, if each node past {largest} adds as much.",
    )


def _check(target_rate: float, headroom: float) -> None:
    if not (math.isfinite(target_rate) and target_rate > 0):
        raise ValueError(f"the target rate must be a positive number of requests/s, not {target_rate}")
    if not (math.isfinite(headroom) and 0 <= headroom < 1):
        raise ValueError(f"the headroom must be a fraction from 0 up to (not including) 1, not {headroom}")


def _known(measured: Mapping[int, float | None]) -> dict[int, float]:
    for count in measured:
        if count < 1:
            raise ValueError(f"node counts start at 1, not {count}")
    return {
        count: capacity
        for count, capacity in measured.items()
        if capacity is not None and math.isfinite(capacity) and capacity > 0
    }


def _meets(capacity: float, target_rate: float, headroom: float) -> bool:
    return (1 - headroom) * capacity >= target_rate * (1 - TOLERANCE)


def _refused(target_rate: float, headroom: float, reason: str) -> NodePlan:
    return NodePlan(target_rate, headroom, None, None, None, f"No plan: {reason}.")
