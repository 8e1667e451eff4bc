"""Restarting a dead companion process (a projector) as a deployment's supervisor would, within a budget.

A process that keeps dying is not restarted forever: more than `most` restarts within `within_seconds`
and the supervisor gives up, so that a crash loop ends the stack with its reason instead of hiding it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen

from bench.infra.errors import InfraError
from bench.infra.target_process import RunningTarget, start_companion


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


def restart_companion(
    running: RunningTarget, index: int, ended: str, log_dir: Path, budget: RestartBudget, say: Callable[[str], None]
) -> Popen[bytes]:
    """Companion `index` started again (`ended`: how the old one ended); one that dies while starting counts as
    another restart. InfraError once the budget is spent."""
    reason = ended
    while budget.take():
        say(f"{reason}; starting it again (restart {budget.used}, {budget.describe()})")
        try:
            return start_companion(
                running.spec,
                index,
                len(running.companions),
                settings_env=running.settings_env,
                log_dir=log_dir,
                cpus=running.cpus,
            )
        except InfraError as error:
            reason = f"projector {index} did not start again ({str(error).splitlines()[0]})"
    said = f"it was restarted {budget.used} times already ({budget.describe()})"
    raise InfraError(f"{reason}, and {said}; logs in {log_dir}")
