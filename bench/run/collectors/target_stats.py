"""The target's own view of itself, from GET /stats; for the cqrs target that includes projection lag.

The body is decoded into the type the target's description gives. A service the harness did not
start is looked up by the name its body carries; an unknown one is read as the common `Stats`.
"""

from __future__ import annotations

import httpx
import msgspec

from targets.common.stats import Stats
from targets.registry import RegistryError, get_target

TIMEOUT_SECONDS = 0.5


class TargetStats:
    def __init__(self, base_url: str, stats_type: type[Stats] | None = None) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=TIMEOUT_SECONDS)
        self._type = stats_type
        self.served = True  # False once /stats answered 404: the service has none

    def sample(self) -> Stats | None:
        if not self.served:
            return None
        try:
            response = self._client.get("/stats")
        except httpx.HTTPError:
            return None
        if response.status_code == 404:
            self.served = False
            return None
        if response.status_code != 200:
            return None
        try:
            if self._type is None:
                self._type = _type_named(msgspec.json.decode(response.content, type=Stats).target)
            return msgspec.json.decode(response.content, type=self._type)
        except msgspec.DecodeError:
            return None

    def close(self) -> None:
        self._client.close()


def _type_named(target: str) -> type[Stats]:
    try:
        return get_target(target).stats
    except RegistryError:
        return Stats


def projection_lag(stats: Stats) -> tuple[float, float] | None:
    """(events behind, seconds behind) when the target reports a projection, else None."""
    return stats.projection_lag()
