"""CSV files written a few rows at a time while a run goes on, so that a run cut short keeps its rows."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any


class CsvLog:
    def __init__(self, path: Path, header: Sequence[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("w", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(header)

    def write(self, rows: list[list[Any]]) -> None:
        self._writer.writerows(rows)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()
