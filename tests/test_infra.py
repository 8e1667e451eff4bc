"""bench.infra against real servers: embedded ones always, the user's with BENCH_PG_DSN / BENCH_REDIS_URL."""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest
import redis

import bench.infra.ports
import bench.infra.postgres
import bench.infra.redis
from bench.infra.errors import InfraError
from bench.infra.ports import PortTakenError, free_tcp_port, start_on_free_port
from bench.infra.postgres import EmbeddedPostgres, database_name, drop_database, dsn_for_database
from bench.infra.probe import wait_until
from bench.infra.processes import spawn, stop_process_tree
from bench.infra.redis import CLAIM_KEY, EmbeddedRedis, db_index_in, url_for_db
from bench.infra.stack import PG_DSN_ENV, REDIS_URL_ENV, Infrastructure
from bench.infra.urls import redact_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# --- helpers -------------------------------------------------------------------------------------------


def server_processes(pid: int) -> list[psutil.Process]:
    """The server process and everything it forked, collected while they run."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def embedded_processes(infra: Infrastructure) -> list[psutil.Process]:
    processes: list[psutil.Process] = []
    for server in (infra.postgres, infra.redis):
        assert isinstance(server, EmbeddedPostgres | EmbeddedRedis)
        processes += server_processes(server.pid)
    return processes


def is_gone(process: psutil.Process) -> bool:
    # An orphan that died stays a zombie until init reaps it; it is no server any more.
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def servers_under(root: Path) -> list[psutil.Process]:
    """Live children of this process started from `root` (other fixtures of the session have children too)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if not is_gone(child) and any(str(root) in arg for arg in child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def survivors(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if not is_gone(p)]


def fetch_value(dsn: str, query: str) -> object:
    async def fetch() -> object:
        connection = await asyncpg.connect(dsn, timeout=10)
        try:
            return await connection.fetchval(query)
        finally:
            await connection.close()

    return asyncio.run(fetch())


def database_names(admin_dsn: str) -> set[str]:
    async def fetch() -> set[str]:
        connection = await asyncpg.connect(admin_dsn, timeout=10)
        try:
            return {row["datname"] for row in await connection.fetch("SELECT datname FROM pg_database")}
        finally:
            await connection.close()

    return asyncio.run(fetch())


def redis_client(url: str) -> "redis.Redis":
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=10, socket_connect_timeout=10)


@pytest.fixture
def temp_root() -> Iterator[Path]:
    """Make the servers' temp dirs here, so that a test sees exactly the dirs it caused."""
    root = Path(tempfile.mkdtemp(prefix="cqrsb-test-"))
    root.chmod(0o755)  # as root, PostgreSQL runs as another user that must reach its dir
    previous = tempfile.tempdir
    tempfile.tempdir = str(root)
    try:
        yield root
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(root, ignore_errors=True)


# --- small parts ---------------------------------------------------------------------------------------


def test_wait_until_returns_as_soon_as_the_check_passes() -> None:
    answers = iter([False, False, True])
    wait_until(lambda: next(answers), timeout=5, what="the third answer", interval=0.001)


def test_wait_until_names_what_it_waited_for_and_the_last_error() -> None:
    def check() -> bool:
        raise ConnectionRefusedError("nobody home")

    with pytest.raises(InfraError, match=r"the thing did not become ready within 0.05 s.*nobody home") as info:
        wait_until(check, timeout=0.05, what="the thing")
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


def test_start_on_free_port_tries_a_new_port_when_one_was_taken() -> None:
    ports: list[int] = []

    def start(port: int) -> int:
        ports.append(port)
        if len(ports) < 3:
            raise PortTakenError(f"port {port} taken")
        return port

    assert start_on_free_port(start) == ports[-1]
    assert len(ports) == 3


def test_start_on_free_port_gives_up_after_the_last_attempt() -> None:
    def start(port: int) -> int:
        raise PortTakenError(f"port {port} taken")

    with pytest.raises(PortTakenError):
        start_on_free_port(start, attempts=2)


def test_dsn_for_database_replaces_only_the_database() -> None:
    dsn = "postgresql://bench:s3cret@db.example:6543/app?sslmode=require&dbname=app&host=/run/pg"
    new = dsn_for_database(dsn, "cqrsb_0123456789ab")
    assert new == "postgresql://bench:s3cret@db.example:6543/cqrsb_0123456789ab?sslmode=require&host=/run/pg"
    assert database_name(new) == "cqrsb_0123456789ab"


def test_redis_db_index_is_read_and_replaced_in_the_url() -> None:
    assert db_index_in("redis://h:6379") is None
    assert db_index_in("redis://h:6379/7") == 7
    assert db_index_in("redis://h:6379?db=3") == 3
    assert url_for_db("redis://:pw@h:6379/7?db=2&ssl_cert_reqs=none", 12) == (
        "redis://:pw@h:6379/12?ssl_cert_reqs=none"
    )
    assert url_for_db("unix:///run/redis.sock", 4) == "unix:///run/redis.sock?db=4"
    with pytest.raises(InfraError, match="not a number"):
        db_index_in("redis://h:6379/main")


def test_recorded_addresses_carry_no_password() -> None:
    assert redact_url("postgresql://bench:s3cret@db:5432/app?password=x&sslmode=require") == (
        "postgresql://bench@db:5432/app?sslmode=require"
    )
    assert redact_url("redis://:s3cret@cache:6379/3") == "redis://cache:6379/3"
    assert redact_url("postgresql:///app?host=/run/postgresql") == "postgresql:///app?host=/run/postgresql"


def test_drop_database_refuses_a_database_the_harness_did_not_create() -> None:
    admin = "postgresql://postgres@127.0.0.1:1/postgres"  # never reached: refused before connecting
    with pytest.raises(InfraError, match="refusing to drop database 'postgres'"):
        drop_database(admin, admin)


@pytest.mark.timeout(60)
def test_stop_process_tree_kills_a_tree_that_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    script = (
        stubborn + "import subprocess, sys; "
        f"child = subprocess.Popen([sys.executable, '-c', {stubborn + 'signal.pause()'!r}]); "
        "print(child.pid, flush=True); signal.pause()"
    )
    log_path = tmp_path / "tree.log"
    parent = spawn([sys.executable, "-c", script], log_path=log_path)
    wait_until(lambda: log_path.read_text().strip() != "", timeout=30, what="the grandchild")
    tree = server_processes(parent.pid)
    assert len(tree) == 2

    stop_process_tree(parent, timeout=0.5)

    assert survivors(tree) == []
    assert parent.returncode == -signal.SIGKILL
    stop_process_tree(parent)  # idempotent
    stop_process_tree(tree[1])  # and silent about processes that are gone


# --- embedded servers ----------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_embedded_servers_answer_report_and_vanish(temp_root: Path) -> None:
    with Infrastructure(pg_dsn=None, redis_url=None, need_postgres=True, need_redis=True) as infra:
        assert infra.database_dsn is not None
        assert infra.redis_url is not None
        processes = embedded_processes(infra)
        assert len(processes) > 2  # the postmaster has forked its helpers
        assert fetch_value(infra.database_dsn, "SELECT current_database()") == database_name(infra.database_dsn)
        with redis_client(infra.redis_url) as client:
            assert client.ping()
            assert client.dbsize() == 0

        manifest = infra.manifest()
        postgres, redis_info = manifest["postgres"], manifest["redis"]
        assert postgres.mode == "embedded"
        assert postgres.version.startswith("18.")
        assert postgres.settings["max_connections"] == "300"
        assert postgres.settings["shared_buffers"] == "256MB"
        assert redis_info.mode == "embedded"
        assert redis_info.version.startswith("6.2")
        assert redis_info.settings["appendonly"] == "no"
        assert len(list(temp_root.iterdir())) == 2

    assert survivors(processes) == []
    assert list(temp_root.iterdir()) == []


@pytest.mark.timeout(60)
def test_fresh_database_and_flush_give_each_arm_an_empty_slate(temp_root: Path) -> None:
    with Infrastructure(pg_dsn=None, redis_url=None, need_postgres=True, need_redis=True) as infra:
        assert infra.postgres is not None
        assert infra.database_dsn is not None
        assert infra.redis_url is not None
        first = infra.database_dsn
        fetch_value(first, "CREATE TABLE leftover (id int)")
        with redis_client(infra.redis_url) as client:
            client.set("leftover", "1")

        second = infra.fresh_database()
        infra.flush_redis()

        assert infra.database_dsn == second != first
        names = database_names(infra.postgres.admin_dsn)
        assert database_name(second) in names
        assert database_name(first) not in names
        assert fetch_value(second, "SELECT count(*) FROM pg_tables WHERE tablename = 'leftover'") == 0
        with redis_client(infra.redis_url) as client:
            assert client.dbsize() == 0


@pytest.mark.timeout(60)
def test_an_exception_inside_the_block_still_cleans_up(temp_root: Path) -> None:
    processes: list[psutil.Process] = []

    def fail_inside() -> None:
        with Infrastructure(pg_dsn=None, redis_url=None, need_postgres=True, need_redis=True) as infra:
            processes.extend(embedded_processes(infra))
            raise ZeroDivisionError("a benchmark step failed")

    with pytest.raises(ZeroDivisionError):
        fail_inside()

    assert processes
    assert survivors(processes) == []
    assert list(temp_root.iterdir()) == []


@pytest.mark.timeout(60)
def test_a_failure_while_starting_stops_what_was_already_started(temp_root: Path) -> None:
    nobody_listens = f"redis://127.0.0.1:{free_tcp_port()}"
    infra = Infrastructure(pg_dsn=None, redis_url=nobody_listens, need_postgres=True, need_redis=True)

    with pytest.raises(InfraError, match=r"Redis at redis://127\.0\.0\.1"):
        infra.__enter__()

    assert servers_under(temp_root) == []
    assert list(temp_root.iterdir()) == []
    assert infra.postgres is None
    assert infra.database_dsn is None


@pytest.mark.timeout(60)
@pytest.mark.parametrize("server_class", [EmbeddedPostgres, EmbeddedRedis])
def test_embedded_server_moves_to_another_port_when_its_port_was_taken(
    server_class: type[EmbeddedPostgres | EmbeddedRedis], temp_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        offered = iter([taken])
        real_free_tcp_port = bench.infra.ports.free_tcp_port
        monkeypatch.setattr(
            bench.infra.ports, "free_tcp_port", lambda host="127.0.0.1": next(offered, None) or real_free_tcp_port()
        )

        with server_class() as server:
            address = server.admin_dsn if isinstance(server, EmbeddedPostgres) else server.url
            assert f":{taken}/" not in address
            assert server.info().version


@pytest.mark.timeout(60)
def test_a_postgres_that_fails_to_start_is_explained_by_its_log(
    temp_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench.infra.postgres, "SERVER_SETTINGS", {"max_connections": "lots"})

    with pytest.raises(InfraError, match=r"exited with code 1 while starting") as info:
        EmbeddedPostgres().start()

    assert 'invalid value for parameter "max_connections": "lots"' in str(info.value)
    assert "BENCH_PG_DSN" in str(info.value)
    assert servers_under(temp_root) == []
    assert list(temp_root.iterdir()) == []


@pytest.mark.timeout(60)
def test_a_redis_that_fails_to_start_is_explained_by_its_log(temp_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench.infra.redis, "SERVER_ARGS", ("--appendonly", "sometimes"))

    with pytest.raises(InfraError, match=r"exited with code 1 while starting") as info:
        EmbeddedRedis().start()

    assert "argument must be 'yes' or 'no'" in str(info.value)
    assert "BENCH_REDIS_URL" in str(info.value)
    assert list(temp_root.iterdir()) == []


# --- the harness process being interrupted or killed ---------------------------------------------------

# The child takes SIGINT as `bench` does (bench.cli.main): a process under a shell's background job (`bash
# .ci/run &`) inherits SIGINT ignored, and Python keeps it so; the SIGINT case then waited out its 60 s.
CHILD_SCRIPT = """
import json, signal
signal.signal(signal.SIGINT, signal.default_int_handler)
import psutil
from bench.infra.signals import sigterm_exits
from bench.infra.stack import Infrastructure

with sigterm_exits(), Infrastructure(pg_dsn=None, redis_url=None, need_postgres=True, need_redis=True) as infra:
    servers = [infra.postgres, infra.redis]
    pids = [p.pid for s in servers for p in [psutil.Process(s.pid), *psutil.Process(s.pid).children(True)]]
    print(json.dumps({"pids": pids, "dirs": [str(s.directory) for s in servers]}), flush=True)
    signal.pause()
"""


def start_harness_child() -> tuple["subprocess.Popen[str]", list[psutil.Process], list[Path]]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_SCRIPT],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k not in (PG_DSN_ENV, REDIS_URL_ENV)},
    )
    assert child.stdout is not None
    line = child.stdout.readline()  # bounded by the test's timeout
    if not line:
        child.wait(timeout=30)
        pytest.fail(f"the harness child exited before its servers were up:\n{child.communicate()[1]}")
    started = json.loads(line)
    processes = [psutil.Process(pid) for pid in started["pids"]]
    return child, processes, [Path(d) for d in started["dirs"]]


@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    ("signal_to_send", "expected_returncode"),
    [(signal.SIGINT, -signal.SIGINT), (signal.SIGTERM, 128 + signal.SIGTERM)],
)
def test_an_interrupted_harness_stops_its_servers_and_deletes_their_files(
    signal_to_send: signal.Signals, expected_returncode: int
) -> None:
    child, processes, directories = start_harness_child()
    try:
        child.send_signal(signal_to_send)
        assert child.wait(timeout=60) == expected_returncode, child.communicate()[1]
    finally:
        if child.poll() is None:
            stop_process_tree(child)

    assert survivors(processes) == []
    assert [d for d in directories if d.exists()] == []


@pytest.mark.timeout(90)
def test_a_killed_harness_takes_its_servers_with_it() -> None:
    child, processes, directories = start_harness_child()
    try:
        child.kill()
        child.wait(timeout=30)
        wait_until(lambda: survivors(processes) == [], timeout=30, what="the servers of the killed harness to exit")
    finally:
        # Nothing was left to delete them: the parent-death signal stops servers, not the file system.
        for directory in directories:
            shutil.rmtree(directory, ignore_errors=True)


# --- the user's servers --------------------------------------------------------------------------------


@pytest.fixture
def external_pg_dsn() -> str:
    dsn = os.environ.get(PG_DSN_ENV)
    if not dsn:
        pytest.skip(f"{PG_DSN_ENV} is not set: no external PostgreSQL to test against")
    return dsn


@pytest.fixture
def external_redis_url() -> str:
    url = os.environ.get(REDIS_URL_ENV)
    if not url:
        pytest.skip(f"{REDIS_URL_ENV} is not set: no external Redis to test against")
    return url


@pytest.mark.external
@pytest.mark.timeout(60)
def test_external_postgres_gets_its_own_database_and_drops_it(external_pg_dsn: str) -> None:
    def others() -> set[str]:
        # Concurrent runs may create and drop cqrsb_ databases; everything else must stay as it was.
        return {name for name in database_names(external_pg_dsn) if not name.startswith("cqrsb_")}

    before = others()
    with Infrastructure(pg_dsn=external_pg_dsn, redis_url=None, need_postgres=True, need_redis=False) as infra:
        assert infra.database_dsn is not None
        assert infra.redis is None
        first = database_name(infra.database_dsn)
        assert first.startswith("cqrsb_")
        assert first in database_names(external_pg_dsn)
        assert fetch_value(infra.database_dsn, "SELECT current_database()") == first
        assert infra.manifest()["postgres"].mode == "external"

        second = database_name(infra.fresh_database())
        assert first not in database_names(external_pg_dsn)

    assert second not in database_names(external_pg_dsn)
    assert others() == before


@pytest.mark.external
@pytest.mark.timeout(60)
def test_external_postgres_database_is_kept_when_asked(external_pg_dsn: str) -> None:
    with Infrastructure(
        pg_dsn=external_pg_dsn, redis_url=None, need_postgres=True, need_redis=False, keep_database=True
    ) as infra:
        assert infra.database_dsn is not None
        kept = infra.database_dsn
    try:
        assert database_name(kept) in database_names(external_pg_dsn)
    finally:
        drop_database(external_pg_dsn, kept)


@pytest.fixture
def sentinel_db(external_redis_url: str) -> Iterator[tuple[int, str, str]]:
    """An empty db of the external Redis (not the one the URL names) holding one key of this test's."""
    named = db_index_in(external_redis_url)
    with redis_client(external_redis_url) as client:
        count = int(client.config_get("databases").get("databases", 16))
    key, value = f"cqrs-bench-test:sentinel:{uuid.uuid4()}", "untouched"
    for db in reversed(range(count)):
        if db == named:
            continue
        with redis_client(url_for_db(external_redis_url, db)) as client:
            if client.dbsize() == 0 and client.set(key, value, nx=True):
                break
    else:
        pytest.skip("the external Redis has no empty db to put a sentinel key in")
    try:
        yield db, key, value
    finally:
        with redis_client(url_for_db(external_redis_url, db)) as client:
            if client.get(key) == value:
                client.delete(key)


@pytest.mark.external
@pytest.mark.timeout(60)
def test_external_redis_uses_an_empty_db_of_its_own_and_flushes_only_that(
    external_redis_url: str, sentinel_db: tuple[int, str, str]
) -> None:
    sentinel, key, value = sentinel_db
    with Infrastructure(pg_dsn=None, redis_url=external_redis_url, need_postgres=False, need_redis=True) as infra:
        assert infra.redis_url is not None
        assert infra.database_dsn is None
        ours = db_index_in(infra.redis_url)
        assert ours is not None
        assert ours != sentinel
        with redis_client(infra.redis_url) as client:
            assert client.keys() == [CLAIM_KEY]
            client.set("written-by-the-run", "1")
            infra.flush_redis()
            assert client.keys() == [CLAIM_KEY]
            client.set("written-by-the-run", "2")
        assert infra.manifest()["redis"].mode == "external"

    with redis_client(url_for_db(external_redis_url, ours)) as client:
        assert client.dbsize() == 0
    with redis_client(url_for_db(external_redis_url, sentinel)) as client:
        assert client.get(key) == value


@pytest.mark.external
@pytest.mark.timeout(60)
def test_external_redis_refuses_a_named_db_that_holds_keys(
    external_redis_url: str, sentinel_db: tuple[int, str, str]
) -> None:
    sentinel, key, value = sentinel_db
    infra = Infrastructure(
        pg_dsn=None, redis_url=url_for_db(external_redis_url, sentinel), need_postgres=False, need_redis=True
    )

    with pytest.raises(InfraError, match=f"Redis db {sentinel} named in .* is not empty"), infra:
        pass

    with redis_client(url_for_db(external_redis_url, sentinel)) as client:
        assert client.get(key) == value
