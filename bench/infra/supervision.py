"""Restarting a dead companion process (a projector) as a deployment's supervisor would, within a budget.

A process that keeps dying is not restarted forever: more than `most` restarts within `within_seconds`
and the supervisor gives up, so that a crash loop ends the stack with its reason instead of hiding it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RestartBudget:
    most: int = 5
    within_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _restarts: deque[float] = field(default_factory=deque)

    def take(self) -> bool:
        """Whether one more restart is allowed now (and if so, count it)."""
        now = self.clock()
        while self._restarts and now - self._restarts[0] >= self.within_seconds:
            self._restarts.popleft()
        if len(self._restarts) >= self.most:
            return False
        self._restarts.append(now)
        return True

    @property
    def used(self) -> int:
        return len(self._restarts)

    def describe(self) -> str:
        return f"at most {self.most} restarts within {self.within_seconds:g} s"
