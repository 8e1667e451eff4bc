"""The command bus: routes each typed command to the one handler registered for its type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from targets.common.service import Idempotency, Written
from targets.cqrs.commands import Command

C = TypeVar("C", bound=Command[Any])
R = TypeVar("R")

Handler = Callable[[C, Idempotency | None], Awaitable[Written[R]]]


class UnknownCommand(TypeError):
    """A command type no handler was registered for: a bug in the target, never the client's fault."""


class CommandBus:
    def __init__(self) -> None:
        self._handlers: dict[type[Any], Callable[[Any, Idempotency | None], Awaitable[Written[Any]]]] = {}

    def register(self, command_type: type[C], handler: Handler[C, Any]) -> None:
        if command_type in self._handlers:
            raise ValueError(f"command type {command_type.__name__} already has a handler")
        self._handlers[command_type] = handler

    async def dispatch(self, command: Command[R], idempotency: Idempotency | None = None) -> Written[R]:
        handler = self._handlers.get(type(command))
        if handler is None:
            known = ", ".join(sorted(t.__name__ for t in self._handlers)) or "none"
            raise UnknownCommand(f"no handler for command type {type(command).__name__} (registered: {known})")
        return cast(Written[R], await handler(command, idempotency))
