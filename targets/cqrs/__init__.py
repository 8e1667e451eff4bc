"""The CQRS/event-sourced target: a PostgreSQL event store, projector processes, read models in Redis or PostgreSQL."""

from targets.common.description import Companion, TargetDescription
from targets.common.settings import TargetSettings
from targets.cqrs.settings import CqrsSettings, needs_redis
from targets.cqrs.stats import CqrsStats

TARGET = TargetDescription(
    name="cqrs",
    app="targets.cqrs.app:create_app",
    query_app="targets.cqrs.app:create_query_app",
    stats=CqrsStats,
    needs_postgres=True,
    needs_redis=True,
    redis_needed_with=needs_redis,
    companion=Companion("targets.cqrs.projector", count_env="BENCH_CQRS_PROJECTORS"),
    settings=(TargetSettings, CqrsSettings),
    seeding="targets.cqrs.seeding:SEEDING",
    checks="targets.cqrs.checks:check_data",
    ledger="targets.cqrs.checks:LEDGER",
)
