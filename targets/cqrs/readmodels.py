"""The Redis read models: key layout, generations, and the Lua script that applies events to them.

Every key lives under "<namespace>:<generation>:". The query side resolves the
current generation ("<namespace>:current") inside each read script, so a rebuild
that fills a new generation and then switches `current` is atomic for readers.

Keys of generation G (P = "<namespace>:<G>:"):
  P a:<account>     hash  owner, balance, version, deposited, opened_empty (1 if opened without a deposit)
                          the statement's other totals follow: withdrawn = deposited - balance,
                          count = version - opened_empty (every event but an empty opening is a transaction)
  P t:<account>     list  the newest STATEMENT_CAP transactions as contract JSON, newest first
  P o:<order>       hash  customer_id, status, total, version, created_at, items (JSON)
  P c:<customer>    hash  created, paid, shipped, cancelled, lifetime_total
  P r:<customer>    zset  the newest RECENT_CAP order ids, scored by their OrderCreated position
  P checkpoints     hash  shard name ("i/n", or "all" after a rebuild) -> cursor "tx_id:position"
  P applied         int   events applied (duplicates not counted), to prove none twice and none lost
Outside generations: "<namespace>:current", "<namespace>:generations" (the last one handed out),
"<namespace>:projectors" (hash: shard name -> heartbeat JSON), "<namespace>:rebuilding" (the projector
rebuilding lost read models, with an expiry: targets/cqrs/recovery.py), and the pub/sub channel
"<namespace>:applied" that announces "stream:version ..." after each applied batch. No "current" at all
means Redis lost the read models (a projector makes the first one; readers then answer 503).

All amounts travel as decimal strings and are only ever stored or added with HINCRBY,
never put through Lua numbers (doubles, exact only up to 2**53); versions and positions,
which stay far below that, travel as integers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import msgspec
import redis.asyncio as redis

from targets.common import contract
from targets.cqrs.events import (
    AccountOpened,
    DepositMade,
    Event,
    OrderCancelled,
    OrderCreated,
    OrderPaid,
    OrderShipped,
    RecordedEvent,
    WithdrawalMade,
)
from targets.cqrs.readstore import ApplyOptions, ApplyResult

Redis: TypeAlias = "redis.Redis"

STATEMENT_CAP = contract.MAX_LIMIT
RECENT_CAP = contract.MAX_LIMIT

# ARGV: namespace, generation, checkpoint field ("" = write none), checkpoint, statement cap, recent cap,
#       heartbeat field ("" = write none), heartbeat, announce ("1" = PUBLISH what was applied),
#       events: one flat MessagePack array (see encode_events), require current ("1": {"lost"} without one).
# KEYS: "<namespace>:current".
# Applies each event iff its version is its stream's applied version + 1; an older one is a
# duplicate and skipped; a newer one is a gap: that stream is skipped for the rest of the batch and
# reported, and the checkpoint is not written, so the caller fills the gap and sends the batch again.
# Returns {"ok", applied, {stream, applied version, ...}} or {"stale", current generation} when
# the batch is for a generation older than the current one (a rebuild switched): nothing is written;
# or {"lost"} when a current generation is required and there is none: Redis lost the read models.
APPLY = r"""
local ns = ARGV[1]
local gen = tonumber(ARGV[2])
local raw_current = redis.call('GET', KEYS[1])
if not raw_current and ARGV[11] == '1' then return {'lost'} end
local current = tonumber(raw_current or '0')
if current > gen then return {'stale', current} end
local p = ns .. ':' .. ARGV[2] .. ':'
local statement_cap = tonumber(ARGV[5])
local recent_cap = tonumber(ARGV[6])
local announce = ARGV[9] == '1'
local applied, gaps, gapped, announced = 0, {}, {}, {}
local account_events = {AccountOpened = true, DepositMade = true, WithdrawalMade = true}

local function customer_moves(customer, from, to, lifetime_delta)
  local key = p .. 'c:' .. customer
  if from then redis.call('HINCRBY', key, from, -1) end
  redis.call('HINCRBY', key, to, 1)
  if lifetime_delta then redis.call('HINCRBY', key, 'lifetime_total', lifetime_delta) end
end

local function transaction(id, tx)
  local list = p .. 't:' .. id
  if redis.call('LPUSH', list, tx) > statement_cap then redis.call('LTRIM', list, 0, statement_cap - 1) end
end

-- One flat array is much cheaper to unpack than one small table per event.
local flat = cmsgpack.unpack(ARGV[10])
local i = 1
while i <= #flat do
  local kind, id, version, position, f = flat[i], flat[i + 1], flat[i + 2], flat[i + 3], i + 5
  i = f + flat[i + 4]
  if not gapped[id] then
    local key = p .. (account_events[kind] and 'a:' or 'o:') .. id
    local have = tonumber(redis.call('HGET', key, 'version') or '0')
    if version == have + 1 then
      if kind == 'DepositMade' then  -- amount, balance_after, transaction
        redis.call('HSET', key, 'balance', flat[f + 1], 'version', version)
        redis.call('HINCRBY', key, 'deposited', flat[f])
        transaction(id, flat[f + 2])
      elseif kind == 'WithdrawalMade' then  -- amount, balance_after, transaction
        redis.call('HSET', key, 'balance', flat[f + 1], 'version', version)
        transaction(id, flat[f + 2])
      elseif kind == 'AccountOpened' then  -- owner, initial deposit, transaction or ''
        local tx = flat[f + 2]
        redis.call('HSET', key, 'owner', flat[f], 'balance', flat[f + 1], 'version', version,
          'deposited', flat[f + 1], 'opened_empty', tx == '' and 1 or 0)
        if tx ~= '' then transaction(id, tx) end
      elseif kind == 'OrderCreated' then  -- customer, total, created_at, items
        local customer = flat[f]
        redis.call('HSET', key, 'customer_id', customer, 'status', 'created', 'total', flat[f + 1],
          'version', version, 'created_at', flat[f + 2], 'items', flat[f + 3])
        customer_moves(customer, nil, 'created', nil)
        local recent = p .. 'r:' .. customer
        if redis.call('ZADD', recent, position, id) > 0 and redis.call('ZCARD', recent) > recent_cap then
          redis.call('ZREMRANGEBYRANK', recent, 0, -(recent_cap + 1))
        end
      elseif kind == 'OrderPaid' then  -- customer, total
        redis.call('HSET', key, 'status', 'paid', 'version', version)
        customer_moves(flat[f], 'created', 'paid', flat[f + 1])
      elseif kind == 'OrderShipped' then  -- customer, total
        redis.call('HSET', key, 'status', 'shipped', 'version', version)
        customer_moves(flat[f], 'paid', 'shipped', nil)
      elseif kind == 'OrderCancelled' then  -- customer, total, previous status
        local from = flat[f + 2]
        redis.call('HSET', key, 'status', 'cancelled', 'version', version)
        customer_moves(flat[f], from, 'cancelled', from == 'paid' and ('-' .. flat[f + 1]) or nil)
      else
        return redis.error_reply('unknown event type ' .. kind)
      end
      applied = applied + 1
      if announce then announced[#announced + 1] = id .. ':' .. version end
    elseif version > have + 1 then
      gapped[id] = true
      gaps[#gaps + 1] = id
      gaps[#gaps + 1] = have
    end
  end
end
if applied > 0 then
  redis.call('INCRBY', p .. 'applied', applied)
  if announce then redis.call('PUBLISH', ns .. ':applied', table.concat(announced, ' ')) end
end
if #gaps == 0 and ARGV[3] ~= '' then redis.call('HSET', p .. 'checkpoints', ARGV[3], ARGV[4]) end
if ARGV[7] ~= '' then redis.call('HSET', ns .. ':projectors', ARGV[7], ARGV[8]) end
return {'ok', applied, gaps}
"""

# KEYS: "<namespace>:current", "<namespace>:generations". A generation newer than any handed out or current.
NEW_GENERATION = r"""
local last = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(redis.call('GET', KEYS[2]) or '0'))
redis.call('SET', KEYS[2], last + 1)
return last + 1
"""

# KEYS: "<namespace>:current"; ARGV: generation. Switch to it unless a newer one is current already.
SWITCH_GENERATION = r"""
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""

# KEYS: "<namespace>:generations"; ARGV: generation. Hand out only generations above it from now on.
HAND_OUT_ABOVE = r"""
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""

# KEYS: "<namespace>:rebuilding"; ARGV: owner, milliseconds. Claim the rebuild unless another owner holds it
# (an owner that lost its connection while rebuilding takes its own claim again at once).
CLAIM_REBUILD = r"""
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# KEYS: "<namespace>:rebuilding"; ARGV: owner. Delete the claim only if it is still the owner's.
RELEASE_REBUILD = r"""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

FIRST_GENERATION = 1

_json = msgspec.json.Encoder()
_msgpack = msgspec.msgpack.Encoder()


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str

    @property
    def current(self) -> str:
        return f"{self.name}:current"

    @property
    def rebuilding(self) -> str:
        return f"{self.name}:rebuilding"

    @property
    def generations(self) -> str:
        return f"{self.name}:generations"

    @property
    def projectors(self) -> str:
        return f"{self.name}:projectors"

    @property
    def channel(self) -> str:
        return f"{self.name}:applied"

    def prefix(self, generation: int) -> str:
        return f"{self.name}:{generation}:"

    def checkpoints(self, generation: int) -> str:
        return f"{self.prefix(generation)}checkpoints"

    def applied(self, generation: int) -> str:
        return f"{self.prefix(generation)}applied"


def statement_line(recorded: RecordedEvent, kind: contract.TransactionKind, amount: int, balance_after: int) -> str:
    """A statement line, stored as the contract's JSON so that reads only decode it."""
    return _json.encode(
        contract.Transaction(recorded.version, kind, amount, balance_after, recorded.created_at)
    ).decode()


# The type-specific fields the APPLY script reads for each event type, all strings (amounts too: see above).


def _account_opened(recorded: RecordedEvent, event: AccountOpened) -> tuple[str, ...]:
    deposit = event.initial_deposit
    return event.owner, str(deposit), statement_line(recorded, "deposit", deposit, deposit) if deposit > 0 else ""


def _deposit_made(recorded: RecordedEvent, event: DepositMade) -> tuple[str, ...]:
    return (
        str(event.amount),
        str(event.balance_after),
        statement_line(recorded, "deposit", event.amount, event.balance_after),
    )


def _withdrawal_made(recorded: RecordedEvent, event: WithdrawalMade) -> tuple[str, ...]:
    tx = statement_line(recorded, "withdrawal", event.amount, event.balance_after)
    return str(event.amount), str(event.balance_after), tx


def _order_created(recorded: RecordedEvent, event: OrderCreated) -> tuple[str, ...]:
    created_at = recorded.created_at.isoformat()
    return str(event.customer_id), str(event.total), created_at, _json.encode(event.items).decode()


def _order_moved(recorded: RecordedEvent, event: OrderPaid | OrderShipped) -> tuple[str, ...]:
    return str(event.customer_id), str(event.total)


def _order_cancelled(recorded: RecordedEvent, event: OrderCancelled) -> tuple[str, ...]:
    return str(event.customer_id), str(event.total), event.previous_status


_FIELDS: dict[type[Event], Callable[[RecordedEvent, Any], tuple[str, ...]]] = {
    AccountOpened: _account_opened,
    DepositMade: _deposit_made,
    WithdrawalMade: _withdrawal_made,
    OrderCreated: _order_created,
    OrderPaid: _order_moved,
    OrderShipped: _order_moved,
    OrderCancelled: _order_cancelled,
}


def encode_events(events: Sequence[RecordedEvent]) -> bytes:
    """A batch for the APPLY script: one flat MessagePack array (Redis's Lua decodes it with cmsgpack),
    each event as type, stream id, version, global position, number of fields, fields."""
    flat: list[str | int] = []
    for recorded in events:
        event = recorded.event
        fields = _FIELDS[type(event)](recorded, event)
        flat += (type(event).__name__, str(recorded.stream_id), recorded.version, recorded.global_position, len(fields))
        flat += fields
    return _msgpack.encode(flat)


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisReadModelWriter:
    """Writes read models through the APPLY script; one script call per batch, checkpoint included."""

    def __init__(self, client: Redis, namespace: Namespace) -> None:
        self.client = client
        self.namespace = namespace
        self._apply = client.register_script(APPLY)
        self._new_generation = client.register_script(NEW_GENERATION)
        self._switch = client.register_script(SWITCH_GENERATION)
        self._hand_out_above = client.register_script(HAND_OUT_ABOVE)
        self._claim_rebuild = client.register_script(CLAIM_REBUILD)
        self._release_rebuild = client.register_script(RELEASE_REBUILD)

    async def current_generation(self) -> int | None:
        raw = await self.client.get(self.namespace.current)
        return int(raw) if raw is not None else None

    async def initialize(self) -> int:
        await self.client.set(self.namespace.current, FIRST_GENERATION, nx=True)
        current = await self.current_generation()
        assert current is not None
        return current

    async def claim_rebuild(self, owner: str, seconds: float) -> bool:
        return bool(await self._claim_rebuild(keys=[self.namespace.rebuilding], args=[owner, round(seconds * 1000)]))

    async def release_rebuild(self, owner: str) -> None:
        await self._release_rebuild(keys=[self.namespace.rebuilding], args=[owner])

    async def hand_out_above(self, generation: int) -> None:
        await self._hand_out_above(keys=[self.namespace.generations], args=[generation])

    def encode(self, events: Sequence[RecordedEvent]) -> bytes:
        return encode_events(events)

    async def apply(self, generation: int, batch: bytes, options: ApplyOptions) -> ApplyResult:
        """Apply a batch made by encode_events; one script call, checkpoint and heartbeat included."""
        reply: list[Any] = await self._apply(
            keys=[self.namespace.current],
            args=[
                self.namespace.name,
                generation,
                options.checkpoint_field,
                options.checkpoint,
                STATEMENT_CAP,
                RECENT_CAP,
                options.heartbeat_field,
                options.heartbeat,
                "1" if options.announce else "",
                batch,
                "1" if options.require_current else "",
            ],
        )
        if reply[0] == b"lost":
            return ApplyResult(applied=0, gaps={}, lost=True)
        if reply[0] == b"stale":
            return ApplyResult(applied=0, gaps={}, stale_for=int(reply[1]))
        flat = reply[2]
        gaps = {uuid.UUID(flat[k].decode()): int(flat[k + 1]) for k in range(0, len(flat), 2)}
        return ApplyResult(applied=int(reply[1]), gaps=gaps)

    async def checkpoint(self, generation: int, field: str) -> bytes | None:
        """The cursor stored for `field` in `generation`, else the one a rebuild left for all shards."""
        own, everyone = await self.client.hmget(self.namespace.checkpoints(generation), [field, "all"])
        found = own or everyone
        return found.encode() if isinstance(found, str) else found

    async def checkpoints(self, generation: int) -> dict[str, str]:
        stored = await self.client.hgetall(self.namespace.checkpoints(generation))
        return {_text(field): _text(cursor) for field, cursor in stored.items()}

    async def applied(self, generation: int) -> int:
        return int(await self.client.get(self.namespace.applied(generation)) or 0)

    async def heartbeat_of(self, field: str) -> bytes | None:
        found = await self.client.hget(self.namespace.projectors, field)
        return found.encode() if isinstance(found, str) else found

    async def held_by(self, generation: int) -> int:
        return len([key async for key in self.client.scan_iter(match=f"{self.namespace.prefix(generation)}*")])

    async def heartbeat(self, field: str, value: bytes) -> int | None:
        """Record a projector's heartbeat; returns the current generation, so that an idle projector
        also notices a rebuild's switch, or that the read models are gone (None)."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hset(self.namespace.projectors, field, value)
            pipe.get(self.namespace.current)
            _, current = await pipe.execute()
        return int(current) if current is not None else None

    async def new_generation(self) -> int:
        return int(await self._new_generation(keys=[self.namespace.current, self.namespace.generations]))

    async def switch_to(self, generation: int) -> bool:
        return bool(await self._switch(keys=[self.namespace.current], args=[generation]))

    async def drop(self, generation: int) -> int:
        """Delete every key of `generation`; returns how many."""
        return await self._drop_where(lambda g: g == generation)

    async def drop_generations_before(self, generation: int) -> int:
        """Delete every key of every generation older than `generation` (also those of abandoned rebuilds)."""
        return await self._drop_where(lambda g: g < generation)

    async def _drop_where(self, doomed: Callable[[int], bool], *, batch: int = 5_000) -> int:
        dropped = 0
        keys: list[bytes] = []
        async for key in self.client.scan_iter(match=f"{self.namespace.name}:*", count=batch):
            generation = key.split(b":", 2)[1]
            if generation.isdigit() and doomed(int(generation)):
                keys.append(key)
            if len(keys) >= batch:
                dropped += await self.client.unlink(*keys)
                keys.clear()
        if keys:
            dropped += await self.client.unlink(*keys)
        return dropped
