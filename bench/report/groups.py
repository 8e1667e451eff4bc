"""Endpoint groups: the statistics merge the histograms of the endpoints in each group.

The groups follow the kinds of the contract's endpoints (targets/common/endpoints.py). Names that
are not a contract endpoint are in no group: above all the visibility probes ("probe: ..."), whose
reads wait for a version on purpose, so they measure the visibility window, not response time.
"""

from __future__ import annotations

from collections.abc import Iterable

from bench.rundir.files import ALL as ALL  # re-exported: the groups' users name ALL beside them
from targets.common.endpoints import CONTRACT, Kind

READS, HEAVY_READS, WRITES = "reads", "heavy reads", "writes"
GROUPS = (ALL, READS, HEAVY_READS, WRITES)
GROUP_OF_KIND = {Kind.READ: READS, Kind.HEAVY_READ: HEAVY_READS, Kind.WRITE: WRITES}
_GROUP_OF_ENDPOINT = {endpoint.name: GROUP_OF_KIND[endpoint.kind] for endpoint in CONTRACT}


def group_of(endpoint: str) -> str | None:
    """READS, HEAVY_READS or WRITES; None for probes and any other name that is no contract endpoint."""
    return _GROUP_OF_ENDPOINT.get(endpoint)


def members(group: str, endpoints: Iterable[str]) -> list[str]:
    """The endpoints of `group` (ALL: every endpoint that is in some group), sorted."""
    return sorted(name for name in endpoints if (found := group_of(name)) is not None and group in (ALL, found))
