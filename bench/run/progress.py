"""Progress of the long phases on stderr: seeding per table, then the run's phase, users and time."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class RunProgress:
    """Rich progress on stderr: seeding per table, then the run's phase and users."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
            console=console, transient=False,
        )  # fmt: skip
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RunProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def seeding(self, table: str, rows: int, total: int) -> None:
        task = self._tasks.get(table)
        if task is None:
            task = self._tasks[table] = self._progress.add_task(f"seed {table}", total=total, detail="")
        self._progress.update(task, completed=rows, total=total, detail=f"{rows:,}/{total:,}")

    def running(self, phases: dict[str, Any] | None, expected_seconds: float) -> None:
        task = self._tasks.get("run")
        if task is None:
            task = self._tasks["run"] = self._progress.add_task("run", total=expected_seconds, detail="starting")
        if not phases or phases.get("test_start") is None:
            return
        elapsed = time.time() - float(phases["test_start"])
        detail = f"{phases.get('phase')}, {phases.get('users', 0):,}/{phases.get('target_users', 0):,} users"
        self._progress.update(task, completed=min(elapsed, expected_seconds), detail=detail)
