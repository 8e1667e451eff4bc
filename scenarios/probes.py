"""The requests of the visibility probes, named apart from the endpoints they use. Importable without Locust.

A probe's read waits for its own write's version on purpose, so its latency is the visibility
window, not the service's response time: its own name ("probe: " and the endpoint's) keeps it
out of every endpoint group of the report.
"""

from __future__ import annotations

from dataclasses import dataclass

from targets.common import endpoints
from targets.common.endpoints import Endpoint

PREFIX = "probe: "


@dataclass(frozen=True)
class Probe:
    endpoint: Endpoint

    @property
    def name(self) -> str:
        return PREFIX + self.endpoint.name


DEPOSIT = Probe(endpoints.DEPOSIT)
GET_ACCOUNT = Probe(endpoints.GET_ACCOUNT)
CREATE_ORDER = Probe(endpoints.CREATE_ORDER)
GET_ORDER = Probe(endpoints.GET_ORDER)

PROBES: tuple[Probe, ...] = (DEPOSIT, GET_ACCOUNT, CREATE_ORDER, GET_ORDER)
