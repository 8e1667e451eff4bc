"""Changes to an experiment file's keys from the command line: `--set load.users=2000`.

An override names a key by its dotted path (`load.users`, `repeats`, `arms.cqrs.projectors`, an arm by
its name or its index) and gives a TOML value (`2000`, `true`, `["p99 < 50ms"]`, `"5s"`), or, when the
text is no TOML value, a plain string (`5s..15s`). Overrides change the parsed document before the
experiment's own checks, so an unknown key or a bad value gets the same message as in the file.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SYNTAX = "KEY=VALUE, like load.users=2000 or arms.cqrs.projectors=2"


class OverrideError(ValueError):
    pass


@dataclass(frozen=True)
class Override:
    path: tuple[str, ...]  # ("arms", "cqrs", "projectors")
    value: Any
    text: str  # as given: KEY=VALUE

    @property
    def key(self) -> str:
        return ".".join(self.path)


def parse_override(text: str) -> Override:
    key, equals, raw = text.partition("=")
    if not equals:
        raise OverrideError(f"{text!r} has no '='; expected {SYNTAX}")
    path = tuple(part.strip() for part in key.split("."))
    if not all(path):
        raise OverrideError(f"{key.strip()!r} in {text!r} is no dotted key; expected {SYNTAX}")
    return Override(path, toml_value(raw.strip()), text)


def toml_value(raw: str) -> Any:
    """`raw` read as a TOML value when it is one (2000, true, [...], "5s"), else the text itself."""
    try:
        parsed = tomllib.loads(f"value = {raw}")
    except tomllib.TOMLDecodeError:
        return raw
    return parsed["value"] if parsed.keys() == {"value"} else raw


def apply_overrides(document: Mapping[str, Any], overrides: Sequence[Override]) -> dict[str, Any]:
    """A copy of `document` with each override set in turn (a later one wins); `document` is left as it was."""
    changed = copy.deepcopy(dict(document))
    for override in overrides:
        _set(changed, override)
    return changed


def _set(document: dict[str, Any], override: Override) -> None:
    path = override.path
    table = document
    depth = 0
    while depth < len(path) - 1:
        where = ".".join(path[: depth + 1])
        child = table.setdefault(path[depth], {})
        if _is_array_of_tables(child):
            if depth + 2 == len(path):
                entry = f"{where}.{path[-1]}"
                raise OverrideError(
                    f"--set {override.text}: {entry} is an entry of [[{where}]], not a key; expected {entry}.KEY=VALUE"
                )
            table = _entry(child, path[depth + 1], where, override)
            depth += 2
            continue
        if not isinstance(child, dict):
            raise OverrideError(
                f"--set {override.text}: {where} is {child!r}, not a table with keys; expected --set {where}=VALUE"
            )
        table = child
        depth += 1
    table[path[-1]] = override.value


def _is_array_of_tables(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _entry(entries: list[dict[str, Any]], part: str, where: str, override: Override) -> dict[str, Any]:
    """The entry of an array of tables ([[arms]]) with this name, else at this index."""
    named = [entry for entry in entries if entry.get("name") == part]
    if named:
        return named[0]
    if part.isdecimal() and int(part) < len(entries):
        return entries[int(part)]
    names = ", ".join(str(entry.get("name")) for entry in entries)
    raise OverrideError(
        f"--set {override.text}: [[{where}]] has no entry named {part!r}; expected {where}.NAME.KEY with NAME "
        f"one of: {names} (or an index from 0 to {len(entries) - 1})"
    )
