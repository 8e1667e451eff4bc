"""Settings of the CQRS target beyond the shared ones, read once from the environment; errors name the key."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal, TypeAlias, get_args

from targets.common.settings import SettingsError, TargetSettings, int_setting

NAMESPACE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,40}")
DEFAULT_NAMESPACE = "cqrs"


def check_namespace(namespace: str, key: str = "BENCH_CQRS_NAMESPACE") -> str:
    if not NAMESPACE_PATTERN.fullmatch(namespace):
        raise SettingsError(f"{key}={namespace!r}: expected 1 to 40 letters, digits, '_' or '-'")
    return namespace


ReadStore: TypeAlias = Literal["redis", "postgres"]
READ_STORES: tuple[ReadStore, ...] = get_args(ReadStore)
READ_STORE_KEY = "BENCH_CQRS_READ_STORE"


def read_store_setting(env: Mapping[str, str]) -> ReadStore:
    raw = env.get(READ_STORE_KEY, "").strip().lower() or "redis"
    for store in READ_STORES:
        if raw == store:
            return store
    raise SettingsError(f"{READ_STORE_KEY}={env[READ_STORE_KEY]!r}: expected {' or '.join(READ_STORES)}")


def needs_redis(env: Mapping[str, str]) -> bool:
    """Whether the cqrs target with the settings `env` keeps its read models in Redis."""
    return read_store_setting(env) == "redis"


SWITCH_VALUES = {"on": True, "off": False, "1": True, "0": False, "true": True, "false": False}


def switch_setting(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    if raw.lower() not in SWITCH_VALUES:
        raise SettingsError(f"{key}={raw!r}: expected on or off")
    return SWITCH_VALUES[raw.lower()]


@dataclass(frozen=True)
class CqrsSettings:
    namespace: str  # every Redis key of the read side starts with "<namespace>:" (Redis read store only)
    read_store: ReadStore  # where projectors keep the read models: Redis, or tables in the event store's database
    projectors: int  # projector processes, one per shard; /stats reports each
    append_attempts: int  # tries of a command whose append lost a version race, before a 409
    state_cache_size: int  # streams whose decision state an API worker remembers between commands
    view_cache_size: int  # views (an account, a statement, an order) an API worker serves from memory; 0: none
    batch_size: int  # events a projector applies per Lua script call
    poll_ms: int  # longest a projector waits for a NOTIFY before it looks for new events anyway
    min_poll_ms: int  # shortest time between a projector's polls (unless catching up), and between NOTIFYs
    group_commit: bool  # an API worker's concurrent appends go to PostgreSQL together (targets/cqrs/group_commit.py)
    group_commit_max: int  # appends per group-commit statement at most
    crash_after_batches: int  # test hook: >0 makes a projector SIGKILL itself mid-batch, after that many

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CqrsSettings:
        env = os.environ if env is None else env
        return cls(
            namespace=check_namespace(env.get("BENCH_CQRS_NAMESPACE", "").strip() or DEFAULT_NAMESPACE),
            read_store=read_store_setting(env),
            projectors=int_setting(env, "BENCH_CQRS_PROJECTORS", 1, low=1, high=64),
            append_attempts=int_setting(env, "BENCH_CQRS_APPEND_ATTEMPTS", 8, low=1, high=100),
            state_cache_size=int_setting(env, "BENCH_CQRS_STATE_CACHE", 10_000, low=0, high=10_000_000),
            view_cache_size=int_setting(env, "BENCH_CQRS_VIEW_CACHE", 10_000, low=0, high=10_000_000),
            batch_size=int_setting(env, "BENCH_CQRS_BATCH", 500, low=1, high=100_000),
            poll_ms=int_setting(env, "BENCH_CQRS_POLL_MS", 100, low=1, high=60_000),
            min_poll_ms=int_setting(env, "BENCH_CQRS_MIN_POLL_MS", 5, low=0, high=1_000),
            group_commit=switch_setting(env, "BENCH_CQRS_GROUP_COMMIT", True),
            group_commit_max=int_setting(env, "BENCH_CQRS_GROUP_COMMIT_MAX", 100, low=1, high=10_000),
            crash_after_batches=int_setting(env, "BENCH_CQRS_CRASH_AFTER_BATCHES", 0, low=0, high=1_000_000),
        )

    def to_env(self) -> dict[str, str]:
        """The environment `from_env` reads these settings back from."""
        return {
            "BENCH_CQRS_NAMESPACE": self.namespace,
            READ_STORE_KEY: self.read_store,
            "BENCH_CQRS_PROJECTORS": str(self.projectors),
            "BENCH_CQRS_APPEND_ATTEMPTS": str(self.append_attempts),
            "BENCH_CQRS_STATE_CACHE": str(self.state_cache_size),
            "BENCH_CQRS_VIEW_CACHE": str(self.view_cache_size),
            "BENCH_CQRS_BATCH": str(self.batch_size),
            "BENCH_CQRS_POLL_MS": str(self.poll_ms),
            "BENCH_CQRS_MIN_POLL_MS": str(self.min_poll_ms),
            "BENCH_CQRS_GROUP_COMMIT": "on" if self.group_commit else "off",
            "BENCH_CQRS_GROUP_COMMIT_MAX": str(self.group_commit_max),
            "BENCH_CQRS_CRASH_AFTER_BATCHES": str(self.crash_after_batches),
        }

    @property
    def appends_per_statement(self) -> int:
        """The EventStore's `group_commit_max`: 0 with group commit off."""
        return self.group_commit_max if self.group_commit else 0

    def for_manifest(self) -> dict[str, object]:
        recorded = asdict(self)
        recorded.pop("crash_after_batches")
        return recorded


def require_redis_url(settings: TargetSettings) -> str:
    if settings.redis_url is None:
        raise SettingsError(
            f"BENCH_REDIS_URL: required by this target with {READ_STORE_KEY}=redis (a Redis URL), but not set"
        )
    return settings.redis_url
