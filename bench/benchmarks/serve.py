"""A target on servers of its own for the length of a benchmark: infrastructure, target, both stopped on exit."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.infra.postgres import EmbeddedPostgres
from bench.infra.redis import EmbeddedRedis
from bench.infra.stack import Infrastructure
from bench.infra.target_process import RunningTarget, server_settings, start_target
from targets.registry import get_target


@dataclass(frozen=True)
class Served:
    """A started target and the servers started for it."""

    target: RunningTarget
    infra: Infrastructure

    def target_pids(self) -> list[int]:
        """The API workers' parent and the companions (projectors): the target's processes, with their descendants."""
        return [self.target.process.pid, *(companion.pid for companion in self.target.companions)]

    def server_pids(self) -> list[int]:
        """The embedded PostgreSQL and Redis, if started here (an external server's processes are not ours to watch)."""
        servers = (self.infra.postgres, self.infra.redis)
        return [server.pid for server in servers if isinstance(server, EmbeddedPostgres | EmbeddedRedis)]


@contextmanager
def served(
    name: str,
    *,
    log_dir: Path,
    pg_dsn: str | None = None,
    redis_url: str | None = None,
    workers: int = 1,
    projectors: int | None = None,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Served]:
    """Start the servers target `name` needs (embedded unless a DSN / URL is given), then the target."""
    spec = get_target(name)
    with Infrastructure(
        pg_dsn=pg_dsn or None,
        redis_url=redis_url or None,
        need_postgres=spec.needs_postgres,
        need_redis=spec.uses_redis({**os.environ, **(settings or {})}),  # the environment the target gets
    ) as infra:
        env = {**server_settings(infra.database_dsn, infra.redis_url), **(settings or {})}
        target = start_target(spec, settings_env=env, log_dir=log_dir, workers=workers, projectors=projectors)
        try:
            yield Served(target, infra)
        finally:
            target.stop()
