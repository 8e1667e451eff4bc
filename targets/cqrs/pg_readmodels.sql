-- The CQRS target's read models in PostgreSQL (BENCH_CQRS_READ_STORE=postgres), beside the event store.
-- Idempotent: applied on every start of a worker or projector (serialized by the advisory lock).
-- Every row belongs to a generation; readers read the one `read_generations.current` names, in the
-- same statement, so a rebuild that fills a new generation and then switches is atomic for them.
SELECT pg_advisory_xact_lock(hashtext('cqrs-bench cqrs read models'));

CREATE TABLE IF NOT EXISTS read_generations (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    current     bigint NOT NULL,
    handed_out  bigint NOT NULL  -- the last generation a rebuild was given
);
INSERT INTO read_generations (current, handed_out) VALUES (1, 1) ON CONFLICT DO NOTHING;

-- An account's statement totals follow as in Redis: withdrawn = deposited - balance,
-- count = version - opened_empty. `version` is the stream's applied version.
CREATE TABLE IF NOT EXISTS read_accounts (
    generation    bigint NOT NULL,
    account_id    uuid NOT NULL,
    owner         text NOT NULL,
    balance       bigint NOT NULL,
    version       bigint NOT NULL,
    deposited     bigint NOT NULL,
    opened_empty  boolean NOT NULL,
    PRIMARY KEY (generation, account_id)
) WITH (fillfactor = 70);

-- A statement line per transaction, as the contract's JSON, so that reads only decode it.
CREATE TABLE IF NOT EXISTS read_transactions (
    generation  bigint NOT NULL,
    account_id  uuid NOT NULL,
    version     bigint NOT NULL,
    line        text NOT NULL,
    PRIMARY KEY (generation, account_id, version)
);

CREATE TABLE IF NOT EXISTS read_orders (
    generation   bigint NOT NULL,
    order_id     uuid NOT NULL,
    customer_id  uuid NOT NULL,
    status       text NOT NULL,
    total        bigint NOT NULL,
    version      bigint NOT NULL,
    created_at   timestamptz NOT NULL,
    items        text NOT NULL,
    position     bigint NOT NULL,  -- the OrderCreated's global position: a customer's newest orders first
    PRIMARY KEY (generation, order_id)
) WITH (fillfactor = 70);
CREATE INDEX IF NOT EXISTS read_orders_recent ON read_orders (generation, customer_id, position DESC);

CREATE TABLE IF NOT EXISTS read_customers (
    generation      bigint NOT NULL,
    customer_id     uuid NOT NULL,
    created         bigint NOT NULL,
    paid            bigint NOT NULL,
    shipped         bigint NOT NULL,
    cancelled       bigint NOT NULL,
    lifetime_total  bigint NOT NULL,
    PRIMARY KEY (generation, customer_id)
) WITH (fillfactor = 70);

-- Per generation and shard ("i/n", or "all" for a rebuild): the cursor (NULL until one is written)
-- and the events that writer applied, to prove none twice and none lost.
CREATE TABLE IF NOT EXISTS read_checkpoints (
    generation  bigint NOT NULL,
    shard       text NOT NULL,
    cursor      text,
    applied     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (generation, shard)
);

CREATE TABLE IF NOT EXISTS read_projectors (
    shard      text PRIMARY KEY,
    heartbeat  bytea NOT NULL
);
