"""The servers a run needs, started or attached on enter and cleaned up on any exit."""

import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from bench.infra.errors import InfraError
from bench.infra.info import ServerInfo
from bench.infra.postgres import (
    EmbeddedPostgres,
    ExternalPostgres,
    PostgresServer,
    create_database,
    database_name,
    drop_database,
    dsn_for_database,
)
from bench.infra.redis import DUMP_FILE, EmbeddedRedis, ExternalRedis, RedisServer

PG_DSN_ENV = "BENCH_PG_DSN"
REDIS_URL_ENV = "BENCH_REDIS_URL"


@dataclass(frozen=True)
class ServerFiles:
    """The files of stopped embedded servers (Infrastructure.keep_files), to start others as copies of them."""

    postgres_data: Path | None  # PostgreSQL's data directory, shut down cleanly
    database: str | None  # the run's database in that cluster
    redis_dump: Path | None  # Redis's RDB file


class Infrastructure:
    """PostgreSQL and Redis for a run: embedded unless a DSN / URL names the user's servers.

    Inside the `with` block, `database_dsn` is a fresh database of its own and `redis_url` an empty
    Redis db of its own (each None when not needed). On exit, whether normal, by exception or by
    Ctrl-C, everything is undone in reverse order: the database dropped (unless keep_database), the
    Redis db flushed and released, embedded servers stopped and their files deleted. Embedded servers
    run on `cpus` (the node's) when given. With `files` (embedded servers only), they start as copies
    of those servers' files, and `database_dsn` is the database that was kept in them.
    """

    def __init__(
        self,
        *,
        pg_dsn: str | None,
        redis_url: str | None,
        need_postgres: bool,
        need_redis: bool,
        keep_database: bool = False,
        cpus: frozenset[int] | None = None,
        files: ServerFiles | None = None,
    ) -> None:
        if files is not None and ((pg_dsn is not None and need_postgres) or (redis_url is not None and need_redis)):
            raise InfraError("the files of embedded servers start embedded servers, not the external ones given")
        self._cpus = cpus  # embedded servers are pinned to these (the node's); None: not pinned
        self._files = files
        self._given_pg_dsn = pg_dsn
        self._given_redis_url = redis_url
        self._need_postgres = need_postgres
        self._need_redis = need_redis
        self._keep_database = keep_database
        self._cleanup: ExitStack | None = None
        self.postgres: PostgresServer | None = None
        self.redis: RedisServer | None = None
        self.database_dsn: str | None = None
        self.redis_url: str | None = None

    @classmethod
    def from_env(cls, need_postgres: bool, need_redis: bool) -> "Infrastructure":
        """Use the servers BENCH_PG_DSN / BENCH_REDIS_URL name; embedded ones where unset or empty."""
        return cls(
            pg_dsn=os.environ.get(PG_DSN_ENV) or None,
            redis_url=os.environ.get(REDIS_URL_ENV) or None,
            need_postgres=need_postgres,
            need_redis=need_redis,
        )

    def __enter__(self) -> Self:
        if self._cleanup is not None:
            raise InfraError("this Infrastructure is already in use; create a new one per `with` block")
        with ExitStack() as cleanup:
            cleanup.callback(self._clear_servers)
            if self._need_postgres:
                self.postgres = cleanup.enter_context(self._postgres_server())
                cleanup.callback(self._release_database)
                kept = self._files.database if self._files is not None else None
                admin = self.postgres.admin_dsn
                self.database_dsn = dsn_for_database(admin, kept) if kept is not None else create_database(admin)
            if self._need_redis:
                self.redis = cleanup.enter_context(self._redis_server())
                self.redis_url = self.redis.url
            self._cleanup = cleanup.pop_all()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        cleanup, self._cleanup = self._cleanup, None
        if cleanup is not None:
            cleanup.close()

    def manifest(self) -> dict[str, ServerInfo]:
        """Version, settings and (password-free) address of each server, for the run manifest."""
        servers: dict[str, ServerInfo] = {}
        if self.postgres is not None:
            servers["postgres"] = self.postgres.info()
        if self.redis is not None:
            servers["redis"] = self.redis.info()
        return servers

    def keep_files(self, to: Path) -> ServerFiles:
        """Copy the embedded servers' files under `to` (an empty directory): Redis's data saved while it runs,
        PostgreSQL's after a clean shutdown (it stays stopped until the `with` block ends)."""
        postgres_data = redis_dump = database = None
        if self.redis is not None:
            if not isinstance(self.redis, EmbeddedRedis):
                raise InfraError("only an embedded Redis's files can be kept")
            redis_dump = to / DUMP_FILE
            self.redis.keep_data(redis_dump)
        if self.postgres is not None:
            if not isinstance(self.postgres, EmbeddedPostgres) or self.database_dsn is None:
                raise InfraError("only an embedded PostgreSQL's files can be kept")
            database, postgres_data = database_name(self.database_dsn), to / "postgres"
            self.postgres.keep_data(postgres_data)
        return ServerFiles(postgres_data, database, redis_dump)

    def fresh_database(self) -> str:
        """Replace the run's database by a new, empty one and return its DSN."""
        if self.postgres is None:
            raise InfraError("this Infrastructure has no PostgreSQL: create it with need_postgres=True")
        self._release_database(drop=True)
        self.database_dsn = create_database(self.postgres.admin_dsn)
        return self.database_dsn

    def flush_redis(self) -> None:
        """Empty the run's Redis db."""
        if self.redis is None:
            raise InfraError("this Infrastructure has no Redis: create it with need_redis=True")
        self.redis.flush()

    def _postgres_server(self) -> PostgresServer:
        if self._given_pg_dsn is None:
            data_from = self._files.postgres_data if self._files is not None else None
            return EmbeddedPostgres(cpus=self._cpus, data_from=data_from)
        return ExternalPostgres(self._given_pg_dsn)

    def _redis_server(self) -> RedisServer:
        if self._given_redis_url is None:
            return EmbeddedRedis(cpus=self._cpus, dump_from=self._files.redis_dump if self._files is not None else None)
        return ExternalRedis(self._given_redis_url)

    def _clear_servers(self) -> None:
        self.postgres = None
        self.redis = None
        self.redis_url = None

    def _release_database(self, *, drop: bool | None = None) -> None:
        """Drop the current database; by default only where it would outlive the run (external servers)."""
        dsn, self.database_dsn = self.database_dsn, None
        if dsn is None or self.postgres is None:
            return
        if drop is None:
            drop = isinstance(self.postgres, ExternalPostgres) and not self._keep_database
        if drop:
            drop_database(self.postgres.admin_dsn, dsn)
