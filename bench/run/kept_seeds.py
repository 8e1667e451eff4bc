"""One seed per data set for every run of a command: each run starts its servers from a copy of it.

`bench compare` and `bench sweep` start every run and every capacity step on fresh servers with the
same data set. Seeding that anew took the cqrs target 8-10 s of each 22 s capacity step (COPY of
200,000 events, then their replay into its read models), the crud target 2-3 s. Instead, the first
run of each target, data set and target settings seeds embedded servers of its own, shuts them down
cleanly and keeps their files: PostgreSQL's data directory, Redis's RDB file, the key files. Every
run, the first included, then starts new servers from a copy of those files, so that every run and
every arm goes through the same procedure, on servers no run has used before.

Only embedded servers are kept so; a run with an external server (--pg-dsn, --redis-url) seeds it.
The files live in a directory of their own, removed when the command ends (or, should it be killed,
by the next `bench` that starts a server: bench.infra.leftovers).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from bench.infra.leftovers import owned_directory
from bench.infra.stack import ServerFiles
from bench.seed.load import SeedReport
from targets.common.dataset import SeedSpec

KEYS = "keys"


@dataclass(frozen=True)
class SeedKey:
    """What makes two runs' data the same: the target's layout, the data set, and the target's settings
    (its read store, for one, decides where the read models are)."""

    target: str
    spec: SeedSpec
    settings: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, target: str, spec: SeedSpec, settings: Mapping[str, str]) -> SeedKey:
        return cls(target, spec, tuple(sorted(settings.items())))


@dataclass(frozen=True)
class KeptSeed:
    files: ServerFiles
    keys: Path  # the data set's key files
    report: SeedReport  # of the one seed, when it was made

    def copy_keys(self, to: Path) -> None:
        shutil.copytree(self.keys, to, dirs_exist_ok=True)


Seeder = Callable[[Path], tuple[ServerFiles, SeedReport]]  # seeds servers, keeps their files under the path


class SeedStore:
    """The kept seeds of one command, in a directory that exists inside the `with` block only."""

    def __init__(self) -> None:
        self._root: Path | None = None
        self._kept: dict[SeedKey, KeptSeed] = {}

    def __enter__(self) -> Self:
        self._root = owned_directory("cqrsb-seeds-")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        root, self._root = self._root, None
        self._kept.clear()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def seeded(self, key: SeedKey, seed: Seeder) -> KeptSeed:
        """The kept seed of `key`, made by `seed` into a new directory the first time it is asked for."""
        kept = self._kept.get(key)
        if kept is not None:
            return kept
        if self._root is None:
            raise RuntimeError("a SeedStore keeps seeds only inside its `with` block")
        directory = self._root / f"seed-{len(self._kept) + 1}"
        directory.mkdir()
        try:
            files, report = seed(directory)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        kept = self._kept[key] = KeptSeed(files, directory / KEYS, report)
        return kept
