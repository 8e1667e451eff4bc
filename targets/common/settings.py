"""Target settings, read once from the environment; every error names its key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from targets.common.delay import DelayDistribution, parse_delay


class SettingsError(ValueError):
    pass


def int_setting(env: Mapping[str, str], key: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{key}={raw!r}: expected an integer between {low} and {high}") from None
    if not low <= value <= high:
        raise SettingsError(f"{key}={value}: expected an integer between {low} and {high}")
    return value


def _optional_str(env: Mapping[str, str], key: str) -> str | None:
    return env.get(key, "").strip() or None


@dataclass(frozen=True)
class TargetSettings:
    pg_dsn: str | None
    redis_url: str | None
    pg_pool_size: int
    max_body_bytes: int
    read_wait_ms: int
    floor_delay: DelayDistribution
    floor_spin_us: int  # the end of each floor delay is awaited by yielding, not by a (millisecond-grained) timer
    header_timeout_ms: int  # a request's headers must be in by then (targets.common.http_protocol)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TargetSettings:
        env = os.environ if env is None else env
        delay_spec = env.get("BENCH_FLOOR_DELAY", "none")
        try:
            floor_delay = parse_delay(delay_spec)
        except ValueError as exc:
            raise SettingsError(f"BENCH_FLOOR_DELAY: {exc}") from None
        return cls(
            pg_dsn=_optional_str(env, "BENCH_PG_DSN"),
            redis_url=_optional_str(env, "BENCH_REDIS_URL"),
            pg_pool_size=int_setting(env, "BENCH_PG_POOL_SIZE", 16, low=1, high=500),
            max_body_bytes=int_setting(env, "BENCH_MAX_BODY_BYTES", 64 * 1024, low=1024, high=16 * 1024 * 1024),
            read_wait_ms=int_setting(env, "BENCH_READ_WAIT_MS", 1000, low=0, high=60_000),
            floor_delay=floor_delay,
            floor_spin_us=int_setting(env, "BENCH_FLOOR_SPIN_US", 0, low=0, high=100_000),
            header_timeout_ms=int_setting(env, "BENCH_HEADER_TIMEOUT_MS", 10_000, low=100, high=600_000),
        )

    def to_env(self) -> dict[str, str]:
        """The environment `from_env` reads these settings back from (unset servers are left out)."""
        env = {
            "BENCH_PG_POOL_SIZE": str(self.pg_pool_size),
            "BENCH_MAX_BODY_BYTES": str(self.max_body_bytes),
            "BENCH_READ_WAIT_MS": str(self.read_wait_ms),
            "BENCH_FLOOR_DELAY": self.floor_delay.spec,
            "BENCH_FLOOR_SPIN_US": str(self.floor_spin_us),
            "BENCH_HEADER_TIMEOUT_MS": str(self.header_timeout_ms),
        }
        if self.pg_dsn is not None:
            env["BENCH_PG_DSN"] = self.pg_dsn
        if self.redis_url is not None:
            env["BENCH_REDIS_URL"] = self.redis_url
        return env

    def require_pg_dsn(self) -> str:
        if self.pg_dsn is None:
            raise SettingsError("BENCH_PG_DSN: required by this target (a PostgreSQL DSN), but not set")
        return self.pg_dsn

    def for_manifest(self) -> dict[str, object]:
        """Settings without credentials, for the run manifest."""
        recorded = asdict(self)
        recorded.pop("pg_dsn")
        recorded.pop("redis_url")
        recorded["floor_delay"] = asdict(self.floor_delay)
        return recorded
