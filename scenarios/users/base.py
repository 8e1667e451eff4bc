"""The base of every scenario user: paces itself (closed or open model) and picks one action per task.

Actions are methods of the domain bases, named with their weights in scenarios/mix.py.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any, ClassVar

import gevent
from locust import FastHttpUser, task
from locust.contrib.fasthttp import FastResponse

from bench.rundir.writes import WriteOutcome, WriteRecord
from scenarios import plugin
from scenarios.catalog import ACCOUNT_KEYS, CUSTOMER_KEYS, MIXES, ORDER_KEYS, VISIBILITY_DEADLINE_SECONDS
from scenarios.keys import KeyPicker, key_picker
from scenarios.mix import ActionPlan, Domain, plan_for
from scenarios.options import ScenarioOptions
from scenarios.pacing import first_think_time
from scenarios.probes import Probe
from scenarios.writes import IDEMPOTENCY_HEADER, MAX_ATTEMPTS, backoff_s, outcome_of
from targets.common.endpoints import Endpoint, is_query

PROBE_POLL_INTERVAL = 0.005  # between reads of a probe that found its write not yet visible


@cache
def _plan(user_class: type[BenchUser], options: ScenarioOptions) -> ActionPlan:
    return plan_for(user_class.domains, read_share=MIXES[options.mix], probe_share=options.visibility_share)


_user_serials = itertools.count()


class BenchUser(FastHttpUser):
    abstract = True
    domains: ClassVar[tuple[Domain, ...]] = ()

    def on_start(self) -> None:
        options = plugin.STATE.require_options()
        self.options = options
        self.rng = random.Random(f"{options.seed}:{plugin.STATE.worker_index}:{next(_user_serials)}")
        self.plan = _plan(type(self), options)
        self._intended: float | None = None
        self._pickers: dict[str, KeyPicker] = {}
        if not options.open_model:
            gevent.sleep(first_think_time(self.rng, options.think_min, options.think_max))

    def wait_time(self) -> float:
        options = self.options
        if options.open_model:
            return 0.0  # the arrival schedule paces the next action
        return options.think_min + self.rng.random() * (options.think_max - options.think_min)

    @task
    def act(self) -> None:
        if self.options.open_model:
            self._intended = plugin.STATE.schedule.claim()
        action: Callable[[], None] = getattr(self, self.plan.pick(self.rng))
        action()
        self._intended = None
        if plugin.STATE.recorder is not None:
            plugin.STATE.recorder.record_action()

    def keys(self, file_name: str) -> KeyPicker:
        picker = self._pickers.get(file_name)
        if picker is None:
            picker = self._pickers[file_name] = key_picker(self.options.keys_dir / file_name, self.options.skew)
        return picker

    def account_id(self) -> str:
        return self.keys(ACCOUNT_KEYS).pick(self.rng)

    def customer_id(self) -> str:
        return self.keys(CUSTOMER_KEYS).pick(self.rng)

    def order_id(self) -> str:
        return self.keys(ORDER_KEYS).pick(self.rng)

    def _context(self) -> dict[str, Any]:
        """The intended start goes with the action's first request only: later ones start when they can."""
        intended, self._intended = self._intended, None
        return {} if intended is None else {"intended": intended}

    def send(
        self,
        request: Endpoint | Probe,
        id: str | None = None,
        *,
        query: str = "",
        body: Any = None,
        accept: tuple[int, ...] = (),
        headers: dict[str, str] | None = None,
    ) -> FastResponse:
        """One request, named after its endpoint or probe; status codes in `accept` are answers of the
        contract (409 conflicts), not failures."""
        endpoint = request.endpoint if isinstance(request, Probe) else request
        path = endpoint.path_for(id) + (f"?{query}" if query else "")
        if self.options.query_host and is_query(endpoint):
            path = self.options.query_host + path  # an absolute URL: the query side has a host of its own
        method, name, context = endpoint.method, request.name, self._context()
        if not accept:
            response: FastResponse = self.client.request(
                method, path, name=name, json=body, context=context, headers=headers
            )
            return response
        with self.client.request(
            method, path, name=name, json=body, context=context, headers=headers, catch_response=True
        ) as caught:
            if caught.status_code in accept:
                caught.success()
            answered: FastResponse = caught
            return answered

    def move_money(
        self, request: Endpoint | Probe, account_id: str, kind: str, amount: int, *, accept: tuple[int, ...] = ()
    ) -> FastResponse:
        """A deposit or withdrawal as a careful client sends it (scenarios.writes): keyed, retried while its
        outcome is unknown, and logged with that outcome for the acknowledged-writes check."""
        key = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        headers = {IDEMPOTENCY_HEADER: key}
        attempts, status, response = 0, 0, None
        outcome: WriteOutcome | None = None
        try:
            while outcome is None and attempts < MAX_ATTEMPTS:
                if attempts:
                    retry_after = response.headers.get("retry-after") if response and response.headers else None
                    gevent.sleep(backoff_s(attempts, retry_after))
                attempts += 1
                response = self.send(request, account_id, body={"amount": amount}, accept=accept, headers=headers)
                status = int(response.status_code or 0)
                outcome = outcome_of(status)
        finally:  # also when the user is stopped mid-write (GreenletExit): its outcome is then unknown
            if plugin.STATE.writes is not None:
                version = version_of(response) if outcome is WriteOutcome.ACKED and response is not None else None
                plugin.STATE.writes.record(
                    WriteRecord(
                        key=key,
                        entity=account_id,
                        kind=kind,
                        amount=amount,
                        outcome=WriteOutcome.UNKNOWN if outcome is None else outcome,
                        version=version,
                        attempts=attempts,
                        status=status,
                        at=time.time(),
                    )
                )
        assert response is not None
        return response

    def await_visible(self, domain: str, probe: Probe, id: str, *, version: int, written_at: float) -> None:
        """Read `probe`'s endpoint until it shows `version` (min_version read-your-writes) and record how long
        that took."""
        deadline = written_at + VISIBILITY_DEADLINE_SECONDS
        while True:
            response = self.send(probe, id, query=f"min_version={version}", accept=(404,))
            if response.status_code == 200 and response.headers and response.headers.get("x-stale") != "true":
                self._record_visibility(domain, time.perf_counter() - written_at)
                return
            if time.perf_counter() > deadline:
                self._record_visibility(domain, None)
                return
            gevent.sleep(PROBE_POLL_INTERVAL)

    @staticmethod
    def _record_visibility(domain: str, seconds: float | None) -> None:
        if plugin.STATE.recorder is not None:
            plugin.STATE.recorder.record_visibility(domain, seconds)


def version_of(response: FastResponse) -> int | None:
    """The `version` of a successful write's body, or None."""
    if not 200 <= response.status_code < 300:
        return None
    try:
        return int(response.json()["version"])
    except (ValueError, KeyError, TypeError):
        return None
