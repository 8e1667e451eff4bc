"""The target's own view of itself, from GET /stats; for the cqrs target that includes projection lag."""

from __future__ import annotations

from typing import Any

import httpx

TIMEOUT_SECONDS = 0.5


class TargetStats:
    def __init__(self, base_url: str) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=TIMEOUT_SECONDS)
        self.served = True  # False once /stats answered 404: the service has none

    def sample(self) -> dict[str, Any] | None:
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
            body: dict[str, Any] = response.json()
        except ValueError:
            return None
        return body

    def close(self) -> None:
        self._client.close()


def projection_lag(stats: dict[str, Any]) -> tuple[float, float] | None:
    """(events behind, seconds behind) when the target reports a projection, else None."""
    projection = stats.get("projection")
    if not isinstance(projection, dict):
        return None
    try:
        return float(projection["events_behind"]), float(projection["seconds_behind"])
    except (KeyError, TypeError, ValueError):
        return None
