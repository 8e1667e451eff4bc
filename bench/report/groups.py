"""Endpoint groups: the statistics merge the histograms of the endpoints in each group.

Visibility probes ("probe: ..." names) are in no group: their reads wait for a version on
purpose, so they measure the visibility window, not the service's response time.
"""

from __future__ import annotations

from collections.abc import Iterable

ALL = "all"
READS, HEAVY_READS, WRITES = "reads", "heavy reads", "writes"
GROUPS = (ALL, READS, HEAVY_READS, WRITES)
HEAVY_READ_ENDPOINTS = frozenset({"GET /accounts/{id}/statement", "GET /customers/{id}/orders"})
PROBE_PREFIX = "probe:"


def group_of(endpoint: str) -> str | None:
    """READS, HEAVY_READS or WRITES; None for probes and for endpoints of neither method."""
    if endpoint.startswith(PROBE_PREFIX) or endpoint == ALL:
        return None
    if endpoint in HEAVY_READ_ENDPOINTS:
        return HEAVY_READS
    method = endpoint.split(" ", 1)[0]
    return {"GET": READS, "POST": WRITES}.get(method)


def members(group: str, endpoints: Iterable[str]) -> list[str]:
    """The endpoints of `group` (ALL: every endpoint that is in some group), sorted."""
    return sorted(name for name in endpoints if (found := group_of(name)) is not None and group in (ALL, found))
