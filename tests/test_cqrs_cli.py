"""`bench rebuild`, `bench history` and the projector process refuse bad arguments with exit 2 and a sentence."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from tests.cli_support import BenchCli

pytestmark = pytest.mark.timeout(120)


def test_history_and_rebuild_refuse_bad_arguments_with_exit_2(bench: BenchCli) -> None:
    dsn = ("--pg-dsn", "postgresql://nobody@127.0.0.1:1/none")
    cases = [
        (["history", "not-a-uuid", *dsn], "expected a stream id (a UUID)"),
        (["history", str(uuid.uuid4()), "--as-of", "last week", *dsn], "global position"),
        (["history", str(uuid.uuid4())], "Missing option '--pg-dsn'"),
        (["rebuild", *dsn], "Missing option '--redis-url'"),
        (["rebuild", *dsn, "--redis-url", "redis://127.0.0.1:1/0", "--namespace", "a:b"], "letters, digits"),
        (["rebuild", *dsn, "--redis-url", "redis://127.0.0.1:1/0", "--batch-size", "0"], "0 is not in the range"),
    ]
    unset: dict[str, str | None] = {name: None for name in os.environ if name.startswith("BENCH_")}
    for args, expected in cases:
        result = bench(*args, env=unset)
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.stderr, (args, result.stderr)
    env_free = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    projector = subprocess.run(
        [sys.executable, "-m", "targets.cqrs.projector", "--shard", "2", "--shards", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env_free,
    )
    assert projector.returncode == 2
    assert "0 <= shard < shards" in projector.stderr
