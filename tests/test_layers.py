"""Layers point one way: the command line uses the harness, the harness never the command line."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

BENCH = Path(__file__).resolve().parent.parent / "bench"
COMMAND_LINE = ("bench.commands", "bench.cli", "click")
# The layer that may import them: the entry point (`bench`, `python -m bench`) and its commands.
COMMAND_LAYER = (BENCH / "cli.py", BENCH / "__main__.py", BENCH / "commands")


def imported_modules(path: Path) -> Iterator[str]:
    """Every module `path` imports, at its top, inside functions and under TYPE_CHECKING alike."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def is_command_line(module: str) -> bool:
    return any(module == layer or module.startswith(f"{layer}.") for layer in COMMAND_LINE)


def harness_modules() -> list[Path]:
    return [
        path
        for path in sorted(BENCH.rglob("*.py"))
        if not any(path == layer or layer in path.parents for layer in COMMAND_LAYER)
    ]


def test_no_harness_module_imports_the_command_line() -> None:
    modules = harness_modules()
    assert BENCH / "run" / "load.py" in modules  # the walk sees the harness
    assert BENCH / "benchmarks" / "endpoints.py" in modules  # and the benchmarks, with no exemption
    offenders = {
        str(path.relative_to(BENCH.parent)): sorted(
            module for module in imported_modules(path) if is_command_line(module)
        )
        for path in modules
    }
    assert {path: found for path, found in offenders.items() if found} == {}


def test_the_check_sees_an_import_of_the_command_line(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text("def late():\n    from bench.commands.console import console\n    import click.testing\n")
    assert [module for module in imported_modules(planted) if is_command_line(module)] == [
        "bench.commands.console",
        "bench.commands.console.console",
        "click.testing",
    ]
