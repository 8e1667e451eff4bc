"""The crud target's data checks after a run: no overdraft, balances equal their ledger, nothing lost or doubled."""

from __future__ import annotations

import asyncpg

from targets.common.checks import DataCheck, count_check
from targets.common.ledger import MoneyLedger

LEDGER = MoneyLedger(
    versions="SELECT id AS entity, version FROM accounts",
    moves="""
SELECT l.account_id AS entity, l.version, l.kind, l.amount
FROM ledger_entries l JOIN unnest($1::uuid[], $2::bigint[]) AS since (id, version) ON l.account_id = since.id
WHERE l.version > since.version
""",
    accounts="SELECT id AS entity, version, balance FROM accounts WHERE id = ANY($1::uuid[])",
)

CRUD_LEDGER = """
WITH entries AS (
    SELECT account_id, version, balance_after,
           sum(CASE kind WHEN 'deposit' THEN amount ELSE -amount END)
               OVER (PARTITION BY account_id ORDER BY version) AS running
    FROM ledger_entries
), folded AS (
    SELECT account_id, count(*) AS n, min(version) AS first, max(version) AS last,
           (array_agg(running ORDER BY version DESC))[1] AS balance,
           count(*) FILTER (WHERE running < 0) AS negative,
           count(*) FILTER (WHERE balance_after <> running) AS wrong_after
    FROM entries GROUP BY account_id
)
SELECT count(*) AS accounts,
       count(*) FILTER (WHERE a.balance < 0 OR coalesce(f.negative, 0) > 0) AS overdrawn,
       count(*) FILTER (WHERE a.balance <> coalesce(f.balance, 0) OR coalesce(f.wrong_after, 0) > 0) AS unbalanced,
       count(*) FILTER (WHERE f.n <> f.last - f.first + 1 OR f.first NOT IN (1, 2)
                        OR a.version <> coalesce(f.last, 1)) AS gaps
FROM accounts a LEFT JOIN folded f ON f.account_id = a.id
"""

CRUD_ORDERS = """
SELECT count(*) AS orders,
       count(*) FILTER (WHERE i.total IS NULL OR o.total <> i.total) AS wrong_total
FROM orders o
LEFT JOIN (SELECT order_id, sum(qty::bigint * unit_price) AS total FROM order_items GROUP BY order_id) i
    ON i.order_id = o.id
"""


async def check_data(connection: asyncpg.Connection, base_url: str) -> list[DataCheck]:
    """`base_url` is unused: crud's reads come from the tables these queries read."""
    ledger = await connection.fetchrow(CRUD_LEDGER)
    orders = await connection.fetchrow(CRUD_ORDERS)
    assert ledger is not None
    assert orders is not None
    accounts = int(ledger["accounts"])
    unbalanced = "accounts whose balance differs from the sum of their ledger"
    wrong_total = "orders whose total differs from their items"
    return [
        count_check("no overdraft", int(ledger["overdrawn"]), "accounts ever below zero", accounts),
        count_check("balances equal their ledger", int(ledger["unbalanced"]), unbalanced, accounts),
        count_check("no ledger entry lost or duplicated", int(ledger["gaps"]), "accounts with gaps", accounts),
        count_check("order totals equal their items", int(orders["wrong_total"]), wrong_total, int(orders["orders"])),
        DataCheck("read models caught up", True, "not applicable: crud reads the tables it writes"),
    ]
