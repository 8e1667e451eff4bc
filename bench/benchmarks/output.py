"""Where a benchmark's results go: a table on the terminal, and the same figures as JSON for programs."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import msgspec
from rich.console import Console
from rich.table import Table

JSON_OPTION = click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the results to this file as JSON.",
)


def progress() -> Console:
    """Progress messages go to standard error, so that standard output holds only the results."""
    return Console(stderr=True, soft_wrap=True, highlight=False)


def print_table(table: Table) -> None:
    Console(width=None if sys.stdout.isatty() else 160).print(table)


def write_json(path: Path | None, results: msgspec.Struct) -> None:
    if path is not None:
        path.write_bytes(msgspec.json.format(msgspec.json.encode(results)) + b"\n")
