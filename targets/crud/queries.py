"""SQL of the CRUD baseline. Each write is one statement: a guarded update and its ledger row together."""

OPEN_ACCOUNT = """
WITH opened AS (
    INSERT INTO accounts (id, owner, balance, version) VALUES ($1, $2, $3, 1)
    RETURNING id, owner, balance, version
), entry AS (
    INSERT INTO ledger_entries (account_id, version, kind, amount, balance_after)
    SELECT id, 1, 'deposit', balance, balance FROM opened WHERE balance > 0
)
SELECT id, owner, balance, version FROM opened
"""

# The WHERE guards are re-checked after a row-lock wait (READ COMMITTED), so
# concurrent withdrawals can never overdraw and deposits can never overflow.
DEPOSIT = """
WITH moved AS (
    UPDATE accounts SET balance = balance + $2, version = version + 1
    WHERE id = $1 AND balance <= $3::bigint - $2::bigint
    RETURNING id, balance, version
), entry AS (
    INSERT INTO ledger_entries (account_id, version, kind, amount, balance_after)
    SELECT id, version, 'deposit', $2, balance FROM moved
)
SELECT id, balance, version FROM moved
"""

WITHDRAW = """
WITH moved AS (
    UPDATE accounts SET balance = balance - $2, version = version + 1
    WHERE id = $1 AND balance >= $2
    RETURNING id, balance, version
), entry AS (
    INSERT INTO ledger_entries (account_id, version, kind, amount, balance_after)
    SELECT id, version, 'withdrawal', $2, balance FROM moved
)
SELECT id, balance, version FROM moved
"""

ACCOUNT_BALANCE = "SELECT balance FROM accounts WHERE id = $1"

GET_ACCOUNT = "SELECT id, owner, balance, version FROM accounts WHERE id = $1"

# One statement, so the balance, the entries and the totals come from one snapshot.
STATEMENT = """
SELECT a.balance, a.version, t.deposited, t.withdrawn, t.count,
       e.version AS entry_version, e.kind, e.amount, e.balance_after, e.at
FROM accounts a
CROSS JOIN LATERAL (
    SELECT coalesce(sum(amount) FILTER (WHERE kind = 'deposit'), 0)::bigint AS deposited,
           coalesce(sum(amount) FILTER (WHERE kind = 'withdrawal'), 0)::bigint AS withdrawn,
           count(*) AS count
    FROM ledger_entries WHERE account_id = a.id
) t
LEFT JOIN LATERAL (
    SELECT version, kind, amount, balance_after, at FROM ledger_entries
    WHERE account_id = a.id ORDER BY version DESC LIMIT $2
) e ON true
WHERE a.id = $1
ORDER BY e.version DESC
"""

CREATE_ORDER = """
WITH created AS (
    INSERT INTO orders (id, customer_id, status, total, version) VALUES ($1, $2, 'created', $3, 1)
    RETURNING id
), lines AS (
    INSERT INTO order_items (order_id, line_no, sku, qty, unit_price)
    SELECT $1, line_no, sku, qty, unit_price
    FROM unnest($4::text[], $5::int[], $6::bigint[]) WITH ORDINALITY AS u(sku, qty, unit_price, line_no)
)
SELECT id FROM created
"""

TRANSITION_ORDER = """
UPDATE orders SET status = $2, version = version + 1
WHERE id = $1 AND status = ANY($3::text[])
RETURNING id, status, version
"""

ORDER_STATUS = "SELECT status FROM orders WHERE id = $1"

GET_ORDER = """
SELECT o.id, o.customer_id, o.status, o.total, o.version, o.created_at, i.sku, i.qty, i.unit_price
FROM orders o LEFT JOIN order_items i ON i.order_id = o.id
WHERE o.id = $1
ORDER BY i.line_no
"""

# Window aggregates run over all of the customer's orders before LIMIT applies.
CUSTOMER_ORDERS = """
SELECT id, status, total, version, created_at,
       count(*) FILTER (WHERE status = 'created') OVER () AS created,
       count(*) FILTER (WHERE status = 'paid') OVER () AS paid,
       count(*) FILTER (WHERE status = 'shipped') OVER () AS shipped,
       count(*) FILTER (WHERE status = 'cancelled') OVER () AS cancelled,
       coalesce(sum(total) FILTER (WHERE status IN ('paid', 'shipped')) OVER (), 0)::bigint AS lifetime_total
FROM orders WHERE customer_id = $1
ORDER BY seq DESC
LIMIT $2
"""

CLAIM_IDEMPOTENCY_KEY = """
INSERT INTO idempotency_keys (key, fingerprint) VALUES ($1, $2)
ON CONFLICT (key) DO NOTHING
RETURNING true
"""

STORE_IDEMPOTENT_RESPONSE = "UPDATE idempotency_keys SET response = $2 WHERE key = $1"

STORED_IDEMPOTENT_RESPONSE = "SELECT fingerprint, response FROM idempotency_keys WHERE key = $1"
