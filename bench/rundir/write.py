"""Writing a run directory's JSON files: indented, and replaced atomically so a reader never sees half a file."""

from __future__ import annotations

from pathlib import Path

import msgspec


def write_struct(path: Path, value: msgspec.Struct) -> None:
    """`value` as indented JSON at `path`, replaced atomically."""
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(msgspec.json.format(msgspec.json.encode(value)) + b"\n")
    temporary.replace(path)
