"""Command handlers: load a stream's state, decide, append; retry a lost version race a bounded number of times.

A command costs one round trip when the worker already knows the stream's state
(its own last append), two otherwise (a primary-key read of `streams`, then the
append). Decisions are made in Python against that state, and the append is
guarded by the version they were made against, so a stale state cannot slip through.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Protocol, TypeVar

from targets.common import contract
from targets.common.errors import ApiError, ConcurrencyConflict
from targets.common.idempotency import encode_response, replay
from targets.common.service import Idempotency, Written
from targets.cqrs import commands, decide
from targets.cqrs.appends import AppendOutcome
from targets.cqrs.bus import CommandBus
from targets.cqrs.cache import StateCache
from targets.cqrs.events import AccountOpened, Event, OrderCreated
from targets.cqrs.eventstore import EventStore
from targets.cqrs.locks import StreamLocks
from targets.cqrs.state import AccountState, OrderState, StreamState, evolve

R = TypeVar("R")


class Notifier(Protocol):
    def poke(self) -> None: ...


class _NoNotifier:
    def poke(self) -> None:
        pass


class CommandHandlers:
    def __init__(
        self,
        store: EventStore,
        *,
        attempts: int,
        cache: StateCache,
        notifier: Notifier | None = None,
    ) -> None:
        self.store = store
        self.attempts = attempts
        self.cache = cache
        self.notifier = notifier or _NoNotifier()
        self.locks = StreamLocks()
        self.conflicts = 0  # version races lost (and retried), for /stats

    def register(self, bus: CommandBus) -> None:
        bus.register(commands.OpenAccount, self.open_account)
        bus.register(commands.DepositMoney, self.deposit)
        bus.register(commands.WithdrawMoney, self.withdraw)
        bus.register(commands.CreateOrder, self.create_order)
        for command_type in commands.TRANSITION_COMMANDS.values():
            bus.register(command_type, self.transition_order)

    async def open_account(
        self, command: commands.OpenAccount, idempotency: Idempotency | None
    ) -> Written[contract.Account]:
        def respond(state: StreamState, event: Event) -> contract.Account:
            assert isinstance(state, AccountState)
            assert isinstance(event, AccountOpened)
            return contract.Account(id=command.account_id, owner=event.owner, balance=state.balance, version=1)

        return await self._start_stream(
            command.account_id, decide.open_account(command), respond, contract.Account, idempotency
        )

    async def deposit(
        self, command: commands.DepositMoney, idempotency: Idempotency | None
    ) -> Written[contract.BalanceChanged]:
        return await self._execute(
            command.account_id,
            lambda state: decide.deposit(state, command),
            _balance_changed(command.account_id),
            contract.BalanceChanged,
            idempotency,
        )

    async def withdraw(
        self, command: commands.WithdrawMoney, idempotency: Idempotency | None
    ) -> Written[contract.BalanceChanged]:
        return await self._execute(
            command.account_id,
            lambda state: decide.withdraw(state, command),
            _balance_changed(command.account_id),
            contract.BalanceChanged,
            idempotency,
        )

    async def create_order(
        self, command: commands.CreateOrder, idempotency: Idempotency | None
    ) -> Written[contract.OrderCreated]:
        def respond(state: StreamState, event: Event) -> contract.OrderCreated:
            assert isinstance(state, OrderState)
            assert isinstance(event, OrderCreated)
            return contract.OrderCreated(
                id=command.order_id, customer_id=state.customer_id, status=state.status, total=state.total, version=1
            )

        return await self._start_stream(
            command.order_id, decide.create_order(command), respond, contract.OrderCreated, idempotency
        )

    async def transition_order(
        self, command: commands.TransitionCommand, idempotency: Idempotency | None
    ) -> Written[contract.OrderTransitioned]:
        def respond(state: StreamState, event: Event) -> contract.OrderTransitioned:
            assert isinstance(state, OrderState)
            return contract.OrderTransitioned(id=command.order_id, status=state.status, version=state.version)

        return await self._execute(
            command.order_id,
            lambda state: decide.transition(state, command),
            respond,
            contract.OrderTransitioned,
            idempotency,
        )

    async def _start_stream(
        self,
        stream_id: uuid.UUID,
        event: Event,
        respond: Callable[[StreamState, Event], R],
        response_type: type[R],
        idempotency: Idempotency | None,
    ) -> Written[R]:
        """The first event of a stream with a fresh id: nobody else can be appending to it."""
        state = evolve(None, event)
        response = respond(state, event)
        outcome = await self.store.append(stream_id, None, event, state, idempotency, _encoded(response, idempotency))
        if outcome is AppendOutcome.KEY_TAKEN:
            assert idempotency is not None
            return await self._replay(idempotency, response_type)
        if outcome is not AppendOutcome.APPENDED:
            raise ConcurrencyConflict(f"stream {stream_id} already exists; retry the request")
        self.cache.put(stream_id, state)
        self.notifier.poke()
        return Written(response)

    async def _execute(
        self,
        stream_id: uuid.UUID,
        decision: Callable[[StreamState | None], Event],
        respond: Callable[[StreamState, Event], R],
        response_type: type[R],
        idempotency: Idempotency | None,
    ) -> Written[R]:
        async with self.locks.hold(stream_id):
            for attempt in range(self.attempts):
                try:
                    state, event = await self._decide(stream_id, decision, fresh=attempt > 0)
                except ApiError:
                    # A refused command stores nothing, but a retry of one that was accepted
                    # earlier is refused now (the money is gone): answer it from the stored response.
                    if idempotency is not None and await self.store.stored_response(idempotency.key) is not None:
                        return await self._replay(idempotency, response_type)
                    raise
                new_state = evolve(state, event)
                response = respond(new_state, event)
                outcome = await self.store.append(
                    stream_id, state, event, new_state, idempotency, _encoded(response, idempotency)
                )
                if outcome is AppendOutcome.APPENDED:
                    self.cache.put(stream_id, new_state)
                    self.notifier.poke()
                    return Written(response)
                if outcome is AppendOutcome.KEY_TAKEN:
                    assert idempotency is not None
                    return await self._replay(idempotency, response_type)
                self.conflicts += 1
                self.cache.drop(stream_id)
        raise ConcurrencyConflict(
            f"stream {stream_id} changed concurrently on each of {self.attempts} attempts; retry the request"
        )

    async def _decide(
        self, stream_id: uuid.UUID, decision: Callable[[StreamState | None], Event], *, fresh: bool
    ) -> tuple[StreamState | None, Event]:
        """Decide against the remembered state if there is one, else (or if `fresh`) the stored one.

        An acceptance made on a remembered state is checked by the append's version guard; a refusal
        has no append to check it, so it is only ever made against the stored state.
        """
        if not fresh:
            cached = self.cache.get(stream_id)
            if cached is not None:
                try:
                    return cached, decision(cached)
                except ApiError:
                    pass
        state = await self.store.load_state(stream_id)
        if state is not None:
            self.cache.put(stream_id, state)
        return state, decision(state)

    async def _replay(self, idempotency: Idempotency, response_type: type[R]) -> Written[R]:
        stored = await self.store.stored_response(idempotency.key)
        # Only a committed event makes the key taken, and events are never deleted.
        assert stored is not None, f"Idempotency-Key {idempotency.key!r} is taken but has no stored response"
        return replay(idempotency, stored.fingerprint, stored.response, response_type)


def _balance_changed(account_id: uuid.UUID) -> Callable[[StreamState, Event], contract.BalanceChanged]:
    def respond(state: StreamState, event: Event) -> contract.BalanceChanged:
        assert isinstance(state, AccountState)
        return contract.BalanceChanged(id=account_id, balance=state.balance, version=state.version)

    return respond


def _encoded(response: object, idempotency: Idempotency | None) -> bytes | None:
    return encode_response(response) if idempotency is not None else None
