"""Data directories of the embedded servers, each marked with the `bench` process that made it, and the
removal of those a `bench` killed with SIGKILL left behind: its servers die with it (they get a
parent-death signal) but their directories stay. The next `bench` that starts a server removes them.

A directory is removed only when it carries an owner mark, its owner is gone (a reused pid is told apart
by its start time) and no process still runs in it or names it on its command line.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Final

import msgspec
import psutil

OWNER_FILE: Final = "owner.json"
PREFIXES: Final = ("cqrsb-pg-", "cqrsb-redis-", "cqrsb-seeds-")

log = logging.getLogger("bench.infra.leftovers")
_swept = threading.Event()


class Owner(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pid: int
    started: float  # the owner's start time as psutil reports it, so that a reused pid is not taken for it


def owned_directory(prefix: str) -> Path:
    """A new temporary directory marked as this process's; the first call also removes earlier leftovers."""
    if prefix not in PREFIXES:
        raise ValueError(f"{prefix!r}: expected one of {PREFIXES}, which the sweep knows")
    if not _swept.is_set():
        _swept.set()
        for directory in remove_leftovers():
            log.warning("removed %s, left by a bench that did not stop cleanly", directory)
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    me = psutil.Process()
    (directory / OWNER_FILE).write_bytes(msgspec.json.encode(Owner(me.pid, me.create_time())))
    return directory


def remove_leftovers(root: Path | None = None) -> list[Path]:
    """Remove the marked directories under `root` (default: the temporary directory) whose owner is gone."""
    root = root if root is not None else Path(tempfile.gettempdir())
    candidates = [path for path in sorted(root.iterdir()) if path.name.startswith(PREFIXES) and path.is_dir()]
    orphans = [path for path in candidates if _orphaned(path)]
    if not orphans:
        return []
    in_use = _directories_in_use(orphans)
    removed = []
    for directory in orphans:
        if directory not in in_use:
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    return removed


def _orphaned(directory: Path) -> bool:
    try:
        owner = msgspec.json.decode((directory / OWNER_FILE).read_bytes(), type=Owner)
    except (OSError, msgspec.DecodeError):
        return False  # unmarked (or being written): not ours to judge
    try:
        return psutil.Process(owner.pid).create_time() != owner.started
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def _directories_in_use(directories: list[Path]) -> set[Path]:
    names = {str(directory): directory for directory in directories}
    used: set[Path] = set()
    for process in psutil.process_iter(["cwd", "cmdline"]):
        places = [process.info.get("cwd") or "", *(process.info.get("cmdline") or [])]
        for name, directory in names.items():
            if any(place == name or place.startswith(name + "/") for place in places):
                used.add(directory)
    return used
