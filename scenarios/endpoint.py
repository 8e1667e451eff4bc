"""One endpoint in a closed loop with no think time: per-endpoint throughput and latency.

Run by `bench benchmark endpoints` (and `harness_overhead`); usable alone as
`locust -f scenarios/endpoint.py --host URL` with BENCH_ENDPOINT and BENCH_KEYS_FILE (one
account id per line) in the environment. With ENDPOINT_HISTOGRAM_DIR_ENV naming a directory,
every process records each request's latency into an HdrHistogram and writes it there at exit
(`<pid>.hdr`, base64): Locust's own response times are rounded to whole milliseconds.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant, events, task
from locust.env import Environment
from locust.runners import MasterRunner

from scenarios.catalog import ENDPOINT_HISTOGRAM_DIR_ENV, ENDPOINTS, HEALTH
from scenarios.hdr import encode, new_histogram, record_ms


def _setting(key: str) -> str:
    value = os.environ.get(key, "")
    if not value:
        raise RuntimeError(f"{key} must be set for scenarios/endpoint.py")
    return value


@cache
def _workload() -> tuple[str, tuple[str, ...]]:
    endpoint = _setting("BENCH_ENDPOINT")
    if endpoint not in (*ENDPOINTS, HEALTH):
        raise RuntimeError(f"BENCH_ENDPOINT={endpoint!r}: expected one of {', '.join((*ENDPOINTS, HEALTH))}")
    return endpoint, tuple(Path(_setting("BENCH_KEYS_FILE")).read_text().split())


class EndpointUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.endpoint, self.account_ids = _workload()

    @task
    def call(self) -> None:
        if self.endpoint == HEALTH:
            self.client.get("/health", name="GET /health")
            return
        account_id = random.choice(self.account_ids)
        if self.endpoint == "get_account":
            self.client.get(f"/accounts/{account_id}", name="GET /accounts/{id}")
        elif self.endpoint == "statement":
            self.client.get(f"/accounts/{account_id}/statement", name="GET /accounts/{id}/statement")
        else:
            self.client.post(
                f"/accounts/{account_id}/deposits", json={"amount": 100}, name="POST /accounts/{id}/deposits"
            )


def _record_histogram(environment: Environment, **_: Any) -> None:
    directory = os.environ.get(ENDPOINT_HISTOGRAM_DIR_ENV)
    if not directory or isinstance(environment.runner, MasterRunner):  # a master sends no requests
        return
    histogram = new_histogram()

    def on_request(response_time: float, **_: Any) -> None:
        record_ms(histogram, response_time)

    def on_quit(**_: Any) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        (Path(directory) / f"{os.getpid()}.hdr").write_text(encode(histogram))

    _listen(environment.events.request, on_request)
    _listen(environment.events.quit, on_quit)


def _listen(hook: Any, listener: Callable[..., None]) -> None:
    hook.add_listener(listener)  # Locust's EventHook is untyped


_listen(events.init, _record_histogram)
