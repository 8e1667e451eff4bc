"""How big the seeded data set is unless asked otherwise: one size for a database, a smaller one through an API."""

from __future__ import annotations

from targets.common.dataset import SeedSpec

# Statements over hundreds of entries and dashboards over dozens of orders: the heavy reads
# are heavy. About 1.2 million rows; seeded in under 10 s into the embedded PostgreSQL.
DATABASE_SIZES = {"accounts": 5_000, "entries": 200, "customers": 1_000, "orders": 50_000}
# Seeding through an HTTP API costs a request per entry: smaller unless asked otherwise.
API_SIZES = {"accounts": 1_000, "entries": 10, "customers": 200, "orders": 2_000}


def seed_spec(sizes: dict[str, int | None], seed: int, *, through_api: bool) -> SeedSpec:
    """The data set asked for; sizes not given take the database or the API defaults."""
    defaults = API_SIZES if through_api else DATABASE_SIZES
    chosen = {name: given if given is not None else defaults[name] for name, given in sizes.items()}
    return SeedSpec(chosen["accounts"], chosen["entries"], chosen["customers"], chosen["orders"], seed)
