"""Progress of the long phases on stderr: seeding per table, then the run's phase, users and time."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from bench.run.live import LiveSecond
from bench.rundir.phases import Phases


class RunProgress:
    """Rich progress on stderr: seeding per table, then the run's phase, users and live figures.

    `title` names the run within a larger plan (an experiment's arm and repetition), and
    `remaining` gives that plan's remaining seconds after this run.
    """

    def __init__(self, console: Console, *, title: str = "run", remaining_after: float | None = None) -> None:
        self.title = title
        self.remaining_after = remaining_after
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
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

    def running(self, phases: Phases | None, expected_seconds: float, live: LiveSecond | None = None) -> None:
        task = self._tasks.get("run")
        if task is None:
            task = self._tasks["run"] = self._progress.add_task(self.title, total=expected_seconds, detail="starting")
        if phases is None or phases.test_start is None:
            return
        elapsed = time.time() - phases.test_start
        detail = f"{phases.phase.value}, {phases.users:,}/{phases.target_users:,} users"
        if live is not None:
            detail += f", {live.requests:,} req/s, p95 {live.p95_ms:,.1f} ms"
        if self.remaining_after is not None:
            remaining = max(0.0, expected_seconds - elapsed) + self.remaining_after
            detail += f", {remaining / 60:.0f} min to go" if remaining >= 90 else f", {remaining:.0f} s to go"
        self._progress.update(task, completed=min(elapsed, expected_seconds), detail=detail)

    def checking(self) -> None:
        task = self._tasks.get("run")
        if task is not None:
            self._progress.update(task, detail="load stopped; checking the data")
