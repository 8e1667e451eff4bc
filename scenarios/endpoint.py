"""One endpoint in a closed loop with no think time: per-endpoint throughput and latency.

Run by `python -m bench.endpoint_benchmark`; usable alone as
`locust -f scenarios/endpoint.py --host URL` with BENCH_ENDPOINT and
BENCH_KEYS_FILE (one account id per line) in the environment.
"""

from __future__ import annotations

import os
import random
from functools import cache
from pathlib import Path

from locust import FastHttpUser, constant, task

from scenarios.catalog import ENDPOINTS


def _setting(key: str) -> str:
    value = os.environ.get(key, "")
    if not value:
        raise RuntimeError(f"{key} must be set for scenarios/endpoint.py")
    return value


@cache
def _workload() -> tuple[str, tuple[str, ...]]:
    endpoint = _setting("BENCH_ENDPOINT")
    if endpoint not in ENDPOINTS:
        raise RuntimeError(f"BENCH_ENDPOINT={endpoint!r}: expected one of {', '.join(ENDPOINTS)}")
    return endpoint, tuple(Path(_setting("BENCH_KEYS_FILE")).read_text().split())


class EndpointUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.endpoint, self.account_ids = _workload()

    @task
    def call(self) -> None:
        account_id = random.choice(self.account_ids)
        if self.endpoint == "get_account":
            self.client.get(f"/accounts/{account_id}", name="GET /accounts/{id}")
        elif self.endpoint == "statement":
            self.client.get(f"/accounts/{account_id}/statement", name="GET /accounts/{id}/statement")
        else:
            self.client.post(
                f"/accounts/{account_id}/deposits", json={"amount": 100}, name="POST /accounts/{id}/deposits"
            )
