-- The CRUD baseline's normalized schema. Idempotent: safe to apply on every start,
-- also from several workers at once (serialized by the advisory lock).
SELECT pg_advisory_xact_lock(hashtext('cqrs-bench crud schema'));

-- fillfactor leaves room on each page so that balance/status updates stay HOT
-- (no index maintenance): none of the updated columns is indexed.
CREATE TABLE IF NOT EXISTS accounts (
    id          uuid PRIMARY KEY,
    owner       text NOT NULL,
    balance     bigint NOT NULL CHECK (balance >= 0),
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);

-- The primary key serves the statement: newest-first LIMIT by (account_id, version DESC),
-- and the SUM/COUNT totals as an index-only scan thanks to INCLUDE.
CREATE TABLE IF NOT EXISTS ledger_entries (
    account_id     uuid NOT NULL REFERENCES accounts (id),
    version        bigint NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('deposit', 'withdrawal')),
    amount         bigint NOT NULL CHECK (amount > 0),
    balance_after  bigint NOT NULL,
    at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, version) INCLUDE (kind, amount)
);

CREATE TABLE IF NOT EXISTS orders (
    id           uuid PRIMARY KEY,
    seq          bigint GENERATED ALWAYS AS IDENTITY,  -- creation order, for "recent"
    customer_id  uuid NOT NULL,
    status       text NOT NULL CHECK (status IN ('created', 'paid', 'shipped', 'cancelled')),
    total        bigint NOT NULL CHECK (total >= 0),
    version      bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders (customer_id, seq DESC);

CREATE TABLE IF NOT EXISTS order_items (
    order_id    uuid NOT NULL REFERENCES orders (id),
    line_no     int NOT NULL,
    sku         text NOT NULL,
    qty         int NOT NULL CHECK (qty > 0),
    unit_price  bigint NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, line_no)
);

-- A key is claimed in the same transaction as the write it guards, so a
-- rejected or failed write releases it and a concurrent duplicate waits for the first.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key          text PRIMARY KEY,
    fingerprint  text NOT NULL,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now()
);
