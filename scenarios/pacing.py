"""Pacing: the open model's arrival schedule, and the closed model's first think time.

The open model's arrival schedule: every action has an intended start time fixed in advance.

The master fixes a start time t0 and the rate R for all workers; worker i of n owns the slots
k = i, i + n, i + 2n, ... of the global schedule t0 + k / R. A user claims the next slot and
sleeps until it, so actions start on time whatever earlier responses did, as long as some user
is free; when none is, the next free user starts the overdue slot at once, and the wait counts
in the latency measured from the intended time.
"""

from __future__ import annotations

import random
import time

import gevent
from gevent.event import Event


class ArrivalSchedule:
    def __init__(self) -> None:
        self._started = Event()
        self._t0 = 0.0
        self._rate = 1.0
        self._step = 1
        self._next_slot = 0

    def start(self, *, t0: float, rate: float, index: int, count: int) -> None:
        self._t0, self._rate, self._step, self._next_slot = t0, rate, count, index
        self._started.set()

    def claim(self) -> float:
        """Wait for the next slot of this worker and return its intended start (epoch seconds)."""
        self._started.wait()
        slot = self._next_slot
        self._next_slot += self._step
        intended = self._t0 + slot / self._rate
        delay = intended - time.time()
        if delay > 0:
            gevent.sleep(delay)
        return intended


def first_think_time(rng: random.Random, low: float, high: float) -> float:
    """How long a new user waits before its first action: the time left of a think time already under way.

    A user thinks uniform(low, high) between actions. Started at once, a population of them acts in
    waves (every user at spawn, then again low..high later: with 10,000 users thinking 20-40 s, a lull
    of 20 s). Started after the residual of a think time in progress (the equilibrium distribution of a
    renewal process: density proportional to P(think > t)), they act at their steady rate from the start.
    """
    mean = (low + high) / 2
    if mean == 0:
        return 0.0
    if rng.random() < low / mean:
        return rng.uniform(0, low)  # every think time lasts longer than `low`: flat up to there
    return rng.triangular(low, high, low)  # then falling linearly to zero at `high`
