"""`bench up` supervises the projectors as a deployment would: one killed with -9 is started again and the
stack keeps serving; one that dies over and over ends the stack, with the reason, once the budget is spent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from bench.infra.probe import wait_until
from bench.infra.supervision import RestartBudget

pytestmark = pytest.mark.timeout(120)


def environment(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("BENCH_PG_DSN", "BENCH_REDIS_URL")}
    return {**base, **extra}


def projectors(up: subprocess.Popen[str]) -> list[psutil.Process]:
    found = []
    for process in psutil.Process(up.pid).children(recursive=True):
        try:
            if "targets.cqrs.projector" in process.cmdline():
                found.append(process)
        except psutil.Error:
            continue
    return found


def start_up(tmp_path: Path, **extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "bench", "up", "--target", "cqrs", "--co-located", "--log-dir", str(tmp_path)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(**extra))


@pytest.fixture
def up(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    process = start_up(tmp_path)
    yield process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def test_a_projector_killed_with_9_is_started_again_and_projects_on(up: subprocess.Popen[str]) -> None:
    assert up.stdout is not None
    url = up.stdout.readline().strip()
    (first,) = projectors(up)
    first.kill()
    first.wait(timeout=10)

    def replaced() -> bool:
        return any(process.pid != first.pid for process in projectors(up)) or up.poll() is not None

    wait_until(replaced, timeout=60, what="a new projector")
    assert up.poll() is None, "bench up ended instead of restarting the projector"
    with httpx.Client(base_url=url, timeout=30) as client:
        account = client.post("/accounts", json={"owner": "after", "initial_deposit": 5}).json()
        written = client.post(f"/accounts/{account['id']}/deposits", json={"amount": 7}).json()
        seen = client.get(f"/accounts/{account['id']}", params={"min_version": written["version"]})
        assert seen.status_code == 200
        assert seen.headers.get("x-stale") is None, "the new projector did not catch up"
        assert seen.json()["balance"] == 12
    up.send_signal(signal.SIGINT)
    _, stderr = up.communicate(timeout=60)
    assert "projector 0 exited with code -9; starting it again (restart 1" in stderr


def test_a_projector_that_keeps_dying_ends_the_stack_with_its_reason(tmp_path: Path) -> None:
    # The crash hook: each projector SIGKILLs itself after its first batch, before the checkpoint, so
    # every restart meets the same event again and dies again.
    up = start_up(tmp_path, BENCH_CQRS_CRASH_AFTER_BATCHES="1")
    try:
        assert up.stdout is not None
        url = up.stdout.readline().strip()
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.post("/accounts", json={"owner": "loop"}).status_code == 201
        _, stderr = up.communicate(timeout=90)
    finally:
        if up.poll() is None:
            up.kill()
            up.wait(timeout=30)
    assert up.returncode != 0
    assert "it was restarted 5 times already (at most 5 restarts within 60 s)" in stderr


def test_the_budget_allows_so_many_restarts_per_window_and_forgets_old_ones() -> None:
    now = [0.0]
    budget = RestartBudget(most=2, within_seconds=10, clock=lambda: now[0])
    assert budget.take()
    assert budget.take()
    assert not budget.take()
    now[0] = 10.0
    assert budget.take(), "the first two restarts are 10 s old: out of the window"
    assert budget.used == 1
