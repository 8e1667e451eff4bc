"""A `bench` killed with SIGKILL: its servers die within seconds, and the next `bench` that starts a server
removes the data directories it left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import msgspec
import psutil
import pytest

from bench.infra.leftovers import OWNER_FILE, Owner, remove_leftovers
from bench.infra.probe import wait_until

pytestmark = pytest.mark.timeout(120)


def _mark(directory: Path, owner: Owner) -> Path:
    directory.mkdir()
    (directory / OWNER_FILE).write_bytes(msgspec.json.encode(owner))
    return directory


def _finished_process() -> Owner:
    process = psutil.Popen([sys.executable, "-c", "pass"])
    started = process.create_time()
    process.wait(timeout=30)
    return Owner(process.pid, started)


def test_only_marked_directories_whose_owner_is_gone_and_that_nothing_uses_are_removed(tmp_path: Path) -> None:
    me = psutil.Process()
    dead = _mark(tmp_path / "cqrsb-pg-dead", _finished_process())
    reused = _mark(tmp_path / "cqrsb-redis-reused", Owner(me.pid, me.create_time() - 1000))  # same pid, other start
    alive = _mark(tmp_path / "cqrsb-pg-alive", Owner(me.pid, me.create_time()))
    unmarked = tmp_path / "cqrsb-pg-unmarked"
    unmarked.mkdir()
    other = _mark(tmp_path / "elsewhere-dead", _finished_process())
    busy = _mark(tmp_path / "cqrsb-redis-busy", _finished_process())
    squatter = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], cwd=busy)
    try:
        removed = remove_leftovers(tmp_path)
    finally:
        squatter.kill()
        squatter.wait(timeout=30)
    assert sorted(removed) == sorted([dead, reused])
    assert not dead.exists()
    assert not reused.exists()
    assert all(path.exists() for path in (alive, unmarked, other, busy))


def _owned_by(pid: int) -> list[Path]:
    found = []
    for path in Path(tempfile.gettempdir()).glob("cqrsb-*"):
        try:
            owner = msgspec.json.decode((path / OWNER_FILE).read_bytes(), type=Owner)
        except (OSError, msgspec.DecodeError):
            continue
        if owner.pid == pid:
            found.append(path)
    return found


def test_a_bench_killed_with_sigkill_leaves_no_server_and_its_directories_go_at_the_next_start() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("BENCH_PG_DSN", "BENCH_REDIS_URL")}
    argv = [sys.executable, "-m", "bench", "up", "--target", "cqrs", "--co-located"]
    up = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert up.stdout is not None
    assert up.stdout.readline().startswith("http://")
    servers = psutil.Process(up.pid).children(recursive=True)
    left = _owned_by(up.pid)
    assert sorted(path.name.split("-")[1] for path in left) == ["pg", "redis"]
    up.send_signal(signal.SIGKILL)
    up.wait(timeout=30)

    def all_gone() -> bool:
        return not any(process.is_running() and process.status() != psutil.STATUS_ZOMBIE for process in servers)

    wait_until(all_gone, timeout=15, what="every server of the killed bench to exit")
    assert all(path.exists() for path in left), "the directories stay until someone removes them"
    following = subprocess.Popen(
        [sys.executable, "-m", "bench", "up", "--target", "crud", "--co-located"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert following.stdout is not None
    assert following.stdout.readline().startswith("http://")
    following.send_signal(signal.SIGINT)
    _, said = following.communicate(timeout=60)
    assert not any(path.exists() for path in left)
    assert f"removed {left[0]}" in said or f"removed {left[1]}" in said
