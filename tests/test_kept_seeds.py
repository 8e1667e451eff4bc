"""One seed kept for a command's runs: real embedded servers stopped, copied, and started again as copies."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
import redis

from bench.infra.errors import InfraError
from bench.infra.stack import Infrastructure, ServerFiles
from bench.run.kept_seeds import KEYS, SeedKey, SeedStore
from bench.seed.load import SeedReport
from targets.common.dataset import SeedSpec

pytestmark = pytest.mark.timeout(120)

SPEC = SeedSpec(accounts=3, entries=2, customers=1, orders=1, seed=1)


def embedded() -> Infrastructure:
    return Infrastructure(pg_dsn=None, redis_url=None, need_postgres=True, need_redis=True)


async def _execute(dsn: str, *statements: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn)
    try:
        for statement in statements[:-1]:
            await connection.execute(statement)
        return list(await connection.fetch(statements[-1]))
    finally:
        await connection.close()


def seed_rows(directory: Path, infra: Infrastructure, calls: list[Path]) -> tuple[ServerFiles, SeedReport]:
    """A stand-in for a target's loader: rows in PostgreSQL, a key in Redis, a key file."""
    calls.append(directory)
    assert infra.database_dsn is not None
    assert infra.redis_url is not None
    # Three WAL segments written: the clean shutdown keeps the older ones as recycled files.
    switches = ["INSERT INTO seeded SELECT 1", "SELECT pg_switch_wal()"] * 2
    asyncio.run(_execute(infra.database_dsn, "CREATE TABLE seeded (n int)", *switches, "DELETE FROM seeded", *switches))
    asyncio.run(_execute(infra.database_dsn, "DELETE FROM seeded", "INSERT INTO seeded SELECT 1", "SELECT 1"))
    redis.Redis.from_url(infra.redis_url).set("seeded", "yes")
    (directory / KEYS).mkdir()
    (directory / KEYS / "accounts.txt").write_text("a1\n")
    return infra.keep_files(directory), SeedReport(SPEC, {"seeded": 1}, 0.5, [directory / KEYS / "accounts.txt"])


def test_runs_start_from_copies_of_one_seed_and_every_file_goes_at_the_end(tmp_path: Path) -> None:
    calls: list[Path] = []

    def seed(directory: Path) -> tuple[ServerFiles, SeedReport]:
        with embedded() as infra:
            return seed_rows(directory, infra, calls)

    key = SeedKey.of("crud", SPEC, {"BENCH_X": "1"})
    with SeedStore() as store:
        kept = store.seeded(key, seed)
        assert store.seeded(SeedKey.of("crud", SPEC, {"BENCH_X": "1"}), seed) is kept
        assert len(calls) == 1  # the same data set is seeded once
        assert kept.files.postgres_data is not None
        segments = [path for path in (kept.files.postgres_data / "pg_wal").iterdir() if path.is_file()]
        assert len(segments) == 1  # only the shutdown checkpoint's: the rest would only make copies slower
        seen = []
        for run in range(2):
            with Infrastructure(
                pg_dsn=None, redis_url=None, need_postgres=True, need_redis=True, files=kept.files
            ) as infra:
                assert infra.database_dsn is not None
                assert infra.redis_url is not None
                # Each run writes to its own copy: the second does not see the first's row.
                # ... and goes on to WAL segments of its own.
                rows = asyncio.run(
                    _execute(
                        infra.database_dsn,
                        f"INSERT INTO seeded SELECT {run + 2}",
                        "SELECT pg_switch_wal()",
                        "CHECKPOINT",
                        "SELECT n FROM seeded",
                    )
                )
                assert sorted(row["n"] for row in rows) == [1, run + 2]
                assert redis.Redis.from_url(infra.redis_url).get("seeded") == b"yes"
                seen.append(infra.database_dsn)
            kept.copy_keys(tmp_path / f"run-{run}")
            assert (tmp_path / f"run-{run}" / "accounts.txt").read_text() == "a1\n"
        assert seen[0] != seen[1]  # servers of their own, on ports of their own
        store.seeded(SeedKey.of("crud", SPEC, {"BENCH_X": "2"}), seed)
        assert len(calls) == 2  # other target settings, another seed
        root = calls[0].parent
        assert root.is_dir()
    assert not root.exists()


def test_a_seed_that_fails_keeps_nothing() -> None:
    def failing(directory: Path) -> tuple[ServerFiles, SeedReport]:
        (directory / "partial").write_text("x")
        raise RuntimeError("the loader failed")

    with SeedStore() as store:
        with pytest.raises(RuntimeError, match="the loader failed"):
            store.seeded(SeedKey.of("crud", SPEC, {}), failing)
        calls: list[Path] = []

        def seed(directory: Path) -> tuple[ServerFiles, SeedReport]:
            assert not any(directory.parent.glob("*/partial"))
            with embedded() as infra:
                return seed_rows(directory, infra, calls)

        store.seeded(SeedKey.of("crud", SPEC, {}), seed)
        assert len(calls) == 1  # tried again, not taken from the failed attempt


def test_only_an_external_server_the_run_uses_rules_out_the_copies() -> None:
    files = ServerFiles(Path("/nonexistent/postgres"), "cqrsb_kept", None)
    # crud with --redis-url: it uses no Redis, so its PostgreSQL still starts as a copy.
    Infrastructure(pg_dsn=None, redis_url="redis://127.0.0.1:1/0", need_postgres=True, need_redis=False, files=files)
    with pytest.raises(InfraError, match="not the external ones given"):
        Infrastructure(pg_dsn="postgresql://x/y", redis_url=None, need_postgres=True, need_redis=False, files=files)
