"""The CRUD baseline: normalized tables on PostgreSQL, updated in place."""

from targets.common.description import TargetDescription
from targets.crud.stats import CrudStats

TARGET = TargetDescription(
    name="crud",
    app="targets.crud.app:create_app",
    stats=CrudStats,
    needs_postgres=True,
    seeding="targets.crud.seeding:SEEDING",
    checks="targets.crud.checks:check_data",
    ledger="targets.crud.checks:LEDGER",
)
