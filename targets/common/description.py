"""What a target is, for the harness and the tests: one `TargetDescription`, exported as `TARGET` by its package.

Everything the harness needs to start, seed, check and watch a target is here. What is cheap is
given as is; what would import a database driver or numpy (seeding, data checks) is named as
"module:attribute" and imported only when used, so that listing the targets stays cheap.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Self

from targets.common.settings import SettingsError, TargetSettings
from targets.common.stats import Stats

if TYPE_CHECKING:
    from targets.common.checks import DataChecker
    from targets.common.ledger import MoneyLedger
    from targets.common.seeding import Seeding


class EnvSettings(Protocol):
    """Settings a target reads from its environment, and the environment that gives them back."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self: ...

    def to_env(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class Companion:
    """Processes that run beside a target's API workers (the cqrs projectors): `count` of them, each told its index.

    Each is started as `python -m <module> <index_flag> I <count_flag> N` with the target's settings,
    and creates the file named by BENCH_READY_FILE once it works. The count is also given to the API
    workers as `count_env`, so that they know how many there are.
    """

    module: str
    count_env: str
    default_count: int = 1
    index_flag: str = "--shard"
    count_flag: str = "--shards"

    def argv(self, index: int, count: int) -> list[str]:
        return [sys.executable, "-m", self.module, self.index_flag, str(index), self.count_flag, str(count)]


@dataclass(frozen=True)
class TargetDescription:
    name: str
    app: str  # the app factory, "module:function", as `uvicorn --factory` takes it
    stats: type[Stats]  # the body of its GET /stats
    needs_postgres: bool = False
    needs_redis: bool = False  # whether it may need Redis: `uses_redis` says whether it does with given settings
    redis_needed_with: Callable[[Mapping[str, str]], bool] | None = None  # None: whenever needs_redis
    companion: Companion | None = None
    query_app: str | None = None  # the factory of its query side alone (`--query-workers`); None: it has none
    settings: tuple[type[EnvSettings], ...] = (TargetSettings,)  # what it reads from its environment
    seeding: str | None = None  # "module:attr" of a Seeding; None: nothing to load (only the key files)
    checks: str | None = None  # "module:attr" of a DataChecker; None: it keeps no data to check
    ledger: str | None = None  # "module:attr" of a MoneyLedger (the acknowledged-writes check); None: no accounts

    @property
    def keeps_data(self) -> bool:
        return self.checks is not None

    def uses_redis(self, env: Mapping[str, str]) -> bool:
        """Whether the target with the settings `env` (its environment variables) needs a Redis server.
        Invalid settings count as needing it: the target's own check (check_settings) names the bad key."""
        if not self.needs_redis or self.redis_needed_with is None:
            return self.needs_redis
        try:
            return self.redis_needed_with(env)
        except SettingsError:
            return True

    def setting_keys(self) -> frozenset[str]:
        """Every environment variable the target's settings read (those with no value by default included)."""
        keys: set[str] = set()
        for settings in self.settings:
            keys.update(settings.from_env({}).to_env())
        return frozenset(keys)

    def check_settings(self, env: Mapping[str, str]) -> None:
        """Read every setting of the target from `env`, as it will; raises SettingsError naming a bad key."""
        for settings in self.settings:
            settings.from_env(env)

    def seeder(self) -> Seeding | None:
        from targets.common.seeding import Seeding

        if self.seeding is None:
            return None
        found = _resolve(self.seeding)
        if not isinstance(found, Seeding):
            raise TypeError(f"target {self.name}: seeding {self.seeding} is a {type(found).__name__}, not a Seeding")
        return found

    def checker(self) -> DataChecker | None:
        if self.checks is None:
            return None
        found = _resolve(self.checks)
        if not callable(found):
            raise TypeError(f"target {self.name}: checks {self.checks} is not callable")
        checker: DataChecker = found
        return checker

    def money_ledger(self) -> MoneyLedger | None:
        from targets.common.ledger import MoneyLedger

        if self.ledger is None:
            return None
        found = _resolve(self.ledger)
        if not isinstance(found, MoneyLedger):
            raise TypeError(f"target {self.name}: ledger {self.ledger} is a {type(found).__name__}, not a MoneyLedger")
        return found


def _resolve(reference: str) -> object:
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)
