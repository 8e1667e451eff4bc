-- The CQRS target's event store. Idempotent: safe to apply on every start,
-- also from several workers and projectors at once (serialized by the advisory lock).
SELECT pg_advisory_xact_lock(hashtext('cqrs-bench cqrs schema'));

-- The source of truth. tx_id is the writing transaction's id: projectors read in
-- (tx_id, global_position) order and only below the oldest running transaction
-- (pg_snapshot_xmin), so an append that commits late is waited for, never skipped.
-- The primary key is the optimistic-concurrency guard of last resort.
CREATE TABLE IF NOT EXISTS events (
    global_position      bigint GENERATED ALWAYS AS IDENTITY,
    tx_id                xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id            uuid NOT NULL,
    version              bigint NOT NULL CHECK (version > 0),
    type                 text NOT NULL,
    data                 jsonb NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    -- Set only on the event a keyed request appended: a retry with the same key and
    -- fingerprint gets `response` back, the same key with another request a 422.
    idempotency_key      text,
    request_fingerprint  text,
    response             bytea,
    PRIMARY KEY (stream_id, version)
);
CREATE INDEX IF NOT EXISTS events_projection_cursor ON events (tx_id, global_position);
CREATE UNIQUE INDEX IF NOT EXISTS events_idempotency_key ON events (idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- The write side's decision state, one row per stream. An append updates it guarded by
-- `version = expected` in the same statement that inserts the event. fillfactor keeps
-- those updates HOT: none of the updated columns is indexed.
CREATE TABLE IF NOT EXISTS streams (
    stream_id    uuid PRIMARY KEY,
    type         text NOT NULL CHECK (type IN ('account', 'order')),
    version      bigint NOT NULL CHECK (version > 0),
    balance      bigint CHECK (balance >= 0),
    status       text CHECK (status IN ('created', 'paid', 'shipped', 'cancelled')),
    customer_id  uuid,
    total        bigint CHECK (total >= 0)
) WITH (fillfactor = 70);

-- Which projector shard a stream belongs to: its last 16 bits modulo the shard count.
-- Computed the same way in Python (targets/cqrs/shards.py), so each shard reads only its rows.
CREATE OR REPLACE FUNCTION event_shard(stream_id uuid, shards integer) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ((get_byte(uuid_send(stream_id), 14) << 8) | get_byte(uuid_send(stream_id), 15)) % shards;
