"""How seeding reports progress: rows written so far, per table."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, table: str, rows: int, total: int) -> None: ...


def no_progress(table: str, rows: int, total: int) -> None:
    return None
