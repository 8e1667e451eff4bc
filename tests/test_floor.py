"""The floor target and the settings every target reads."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.infra.errors import InfraError
from bench.infra.target_process import RunningTarget, start_target
from targets.common.delay import parse_delay
from targets.common.settings import SettingsError, TargetSettings
from targets.registry import get_target

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTarget]:
    target = start_target(
        get_target("floor"), settings_env={"BENCH_FLOOR_DELAY": "fixed:30ms"}, log_dir=tmp_path_factory.mktemp("floor")
    )
    yield target
    target.stop()


def test_floor_serves_the_contract_shapes_without_state(floor: RunningTarget) -> None:
    with httpx.Client(base_url=floor.base_url) as client:
        assert client.get("/health").json() == {"status": "ok", "target": "floor"}
        account_id = str(uuid.uuid4())
        assert client.get(f"/accounts/{account_id}").json()["id"] == account_id
        deposit = client.post(f"/accounts/{account_id}/deposits", json={"amount": 7})
        assert deposit.status_code == 200
        assert deposit.json() == {"id": account_id, "balance": 7, "version": 2}
        assert client.post(f"/accounts/{account_id}/deposits", json={"amount": 0}).status_code == 422
        assert client.get("/stats").json()["requests"] >= 2


def test_floor_applies_the_configured_delay(floor: RunningTarget) -> None:
    with httpx.Client(base_url=floor.base_url) as client:
        client.get("/health")  # connect first: the delay is the service time, not the handshake
        elapsed = []
        for _ in range(5):
            started = time.perf_counter()
            assert client.get(f"/accounts/{uuid.uuid4()}").status_code == 200
            elapsed.append(time.perf_counter() - started)
    # asyncio.sleep never returns early, so no response can beat the configured fixed delay.
    assert min(elapsed) >= 0.030


def test_invalid_setting_stops_the_target_before_it_starts(tmp_path: Path) -> None:
    with pytest.raises(InfraError, match="BENCH_FLOOR_DELAY"):
        start_target(get_target("floor"), settings_env={"BENCH_FLOOR_DELAY": "fast"}, log_dir=tmp_path)


@pytest.mark.parametrize(
    ("spec", "median_seconds"),
    [
        ("none", 0.0),
        ("fixed:5ms", 0.005),
        ("uniform:1ms..9ms", 0.005),
        ("exponential:10ms", 0.00693),
        ("lognormal:5ms..50ms", 0.005),
        ("fixed:250us", 0.00025),
        ("fixed:1.5s", 1.5),
        ("stall:200ms/1s", 0.0),
    ],
)
def test_delay_specs_and_their_quantiles(spec: str, median_seconds: float) -> None:
    delay = parse_delay(spec)
    assert delay.quantile(0.5) == pytest.approx(median_seconds, rel=1e-3)
    rng = random.Random(7)
    samples = sorted(delay.sample(rng) for _ in range(20_001))
    assert samples[10_000] == pytest.approx(median_seconds, rel=0.05, abs=1e-9)


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "fixed",
        "fixed:5",
        "fixed:-1ms",
        "uniform:5ms",
        "uniform:9ms..1ms",
        "lognormal:50ms..5ms",
        "exponential:0ms",
        "gamma:5ms",
        "stall:200ms",
        "stall:1s/1s",
        "stall:0ms/1s",
        "stall:200ms/",
    ],
)
def test_bad_delay_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_delay(spec)


def test_a_stall_is_parsed_as_blocked_time_and_period() -> None:
    assert parse_delay("stall:200ms/1s").stall == (0.2, 1.0)
    assert parse_delay("fixed:5ms").stall is None


def test_a_stall_blocks_every_request_for_a_while_once_per_period(tmp_path: Path) -> None:
    target = start_target(get_target("floor"), settings_env={"BENCH_FLOOR_DELAY": "stall:300ms/1s"}, log_dir=tmp_path)
    try:
        with httpx.Client(base_url=target.base_url) as client:
            client.get("/health")
            elapsed, deadline = [], time.monotonic() + 2.2
            while time.monotonic() < deadline:
                started = time.perf_counter()
                assert client.get(f"/accounts/{uuid.uuid4()}").status_code == 200
                elapsed.append(time.perf_counter() - started)
    finally:
        target.stop()
    # Two seconds of back-to-back requests meet two stalls (a request waits for the rest of one); the others
    # are answered at once, the stall being no service time of their own.
    stalled = [seconds for seconds in elapsed if seconds > 0.1]
    assert 1 <= len(stalled) <= 3, stalled
    assert max(stalled) >= 0.2
    assert sorted(elapsed)[len(elapsed) // 2] < 0.05


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"BENCH_PG_POOL_SIZE": "zero"}, "BENCH_PG_POOL_SIZE"),
        ({"BENCH_PG_POOL_SIZE": "0"}, "BENCH_PG_POOL_SIZE"),
        ({"BENCH_MAX_BODY_BYTES": "1"}, "BENCH_MAX_BODY_BYTES"),
        ({"BENCH_READ_WAIT_MS": "-5"}, "BENCH_READ_WAIT_MS"),
        ({"BENCH_FLOOR_DELAY": "soon"}, "BENCH_FLOOR_DELAY"),
    ],
)
def test_settings_errors_name_the_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(SettingsError, match=key):
        TargetSettings.from_env(env)


def test_crud_requires_a_database_and_says_which_key() -> None:
    with pytest.raises(SettingsError, match="BENCH_PG_DSN"):
        TargetSettings.from_env({}).require_pg_dsn()


def test_manifest_settings_carry_no_credentials() -> None:
    settings = TargetSettings.from_env({"BENCH_PG_DSN": "postgresql://u:secret@h/db"})
    assert "secret" not in repr(settings.for_manifest())
