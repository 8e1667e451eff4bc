"""The HTTP loads of `bench benchmark targets`, and the two generators that can drive them: wrk, else Locust."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Protocol

from bench.benchmarks.launcher import LOCUST, LocustJob, run_locust
from bench.benchmarks.locust_stats import total_rate
from bench.benchmarks.measured import Measured
from bench.benchmarks.pgbench import AMOUNT
from bench.benchmarks.watched import GENERATOR
from bench.benchmarks.wrk import WrkJob, run_wrk, wrk_version
from scenarios.catalog import ENDPOINT_HISTOGRAM_DIR_ENV, HEALTH, SCENARIO_DIR
from scenarios.hdr import new_histogram, summary
from targets.common.endpoints import DEPOSIT, GET_ACCOUNT, STATEMENT, Endpoint

LOCUST_LIMIT = (
    "Locust FastHttpUser in one process tops out near 13k req/s on a 2-core machine, below the floor's "
    "ceiling: rates near that are Locust's, not the target's (install wrk for figures the generator does not bound)"
)


@dataclass(frozen=True)
class Load:
    key: str  # how rows and ratios name it, and scenarios/endpoint.py's BENCH_ENDPOINT
    method: str
    path: str  # holds {id} where an account id goes
    body: bytes
    description: str

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


def _load(key: str, endpoint: Endpoint, description: str, body: bytes = b"") -> Load:
    return Load(key, endpoint.method, endpoint.path, body, description)


DEPOSIT_BODY = f'{{"amount":{AMOUNT}}}'.encode()
HEALTH_LOAD = Load(HEALTH, "GET", "/health", b"", "no I/O")
GET_ACCOUNT_LOAD = _load("get_account", GET_ACCOUNT, "spread over the seeded accounts")
STATEMENT_LOAD = _load("statement", STATEMENT, "spread over the seeded accounts")
DEPOSIT_LOAD = _load("deposit", DEPOSIT, "distinct accounts: no two in flight on one", DEPOSIT_BODY)
HOT_DEPOSIT_LOAD = Load("deposit_hot", DEPOSIT.method, DEPOSIT.path, DEPOSIT_BODY, "one hot account")


class HttpGenerator(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def limit(self) -> str:
        """What bounds the rates it can measure, for the output; "" when nothing at these rates does."""
        ...

    def run(
        self,
        base_url: str,
        load: Load,
        ids: Path | None,
        *,
        seconds: float,
        out: Path,
        watch: Mapping[str, Sequence[int]],
    ) -> Measured: ...


class Wrk:
    def __init__(self, binary: str, *, connections: int, threads: int) -> None:
        self.binary = binary
        self.connections = connections
        self.threads = threads
        self.name = wrk_version(binary)
        self.limit = ""

    def run(
        self,
        base_url: str,
        load: Load,
        ids: Path | None,
        *,
        seconds: float,
        out: Path,
        watch: Mapping[str, Sequence[int]],
    ) -> Measured:
        job = WrkJob(base_url, load.method, load.path, ids, load.body, self.connections, self.threads, seconds)
        return run_wrk(self.binary, job, log=out / f"{load.key}.wrk.log", watch=watch, version=self.name)


class Locust:
    """scenarios/endpoint.py, one process, `connections` users with no think time."""

    def __init__(self, *, connections: int) -> None:
        self.connections = connections
        self.name = f"locust {version('locust')}"  # by metadata: importing locust would monkey-patch this process
        self.limit = LOCUST_LIMIT

    def run(
        self,
        base_url: str,
        load: Load,
        ids: Path | None,
        *,
        seconds: float,
        out: Path,
        watch: Mapping[str, Sequence[int]],
    ) -> Measured:
        keys = ids
        if keys is None:  # the scenario wants a key file even for GET /health
            out.mkdir(parents=True, exist_ok=True)
            keys = out / "no-ids.txt"
            keys.write_text("")
        job = LocustJob(
            SCENARIO_DIR / "endpoint.py",
            host=base_url,
            users=self.connections,
            seconds=seconds,
            name=load.key,
            env={"BENCH_ENDPOINT": load.key.removesuffix("_hot"), "BENCH_KEYS_FILE": str(keys)},
            histogram_dir_env=ENDPOINT_HISTOGRAM_DIR_ENV,
        )
        outcome = run_locust(job, out, watch=watch)
        cpu = {(GENERATOR if name == LOCUST else name): use for name, use in outcome.cpu.items()}
        failures = sum(entry.num_failures for entry in outcome.entries)
        return Measured(
            generator=self.name,
            requests=sum(entry.num_requests for entry in outcome.entries),
            requests_per_second=total_rate(outcome.entries),
            errors=failures,
            seconds=seconds,
            latency=outcome.latency or summary(new_histogram()),
            cpu=cpu,
            saturated=outcome.saturated,
            detail=f"{failures} failures (see {outcome.log})" if failures else "",
        )
