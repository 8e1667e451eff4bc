"""The domain events, stored as `type` + jsonb `data`.

Each event carries everything a projector needs to update every read model it
touches (balance_after, an order's customer and total), so projecting never
reads anything but the event itself.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Literal, TypeAlias

import msgspec

from targets.common.contract import OrderLine, OrderStatus

StreamType = Literal["account", "order"]


class AccountOpened(msgspec.Struct, frozen=True):
    owner: str
    initial_deposit: int


class DepositMade(msgspec.Struct, frozen=True):
    amount: int
    balance_after: int


class WithdrawalMade(msgspec.Struct, frozen=True):
    amount: int
    balance_after: int


class OrderCreated(msgspec.Struct, frozen=True):
    customer_id: uuid.UUID
    items: list[OrderLine]
    total: int


class OrderPaid(msgspec.Struct, frozen=True):
    customer_id: uuid.UUID
    total: int


class OrderShipped(msgspec.Struct, frozen=True):
    customer_id: uuid.UUID
    total: int


class OrderCancelled(msgspec.Struct, frozen=True):
    customer_id: uuid.UUID
    total: int
    previous_status: OrderStatus  # a cancelled paid order leaves the customer's lifetime total


AccountEvent: TypeAlias = AccountOpened | DepositMade | WithdrawalMade
OrderEvent: TypeAlias = OrderCreated | OrderPaid | OrderShipped | OrderCancelled
Event: TypeAlias = AccountEvent | OrderEvent

ACCOUNT_EVENT_TYPES: tuple[type[AccountEvent], ...] = (AccountOpened, DepositMade, WithdrawalMade)
ORDER_EVENT_TYPES: tuple[type[OrderEvent], ...] = (OrderCreated, OrderPaid, OrderShipped, OrderCancelled)
EVENT_TYPES: dict[str, type[Event]] = {cls.__name__: cls for cls in (*ACCOUNT_EVENT_TYPES, *ORDER_EVENT_TYPES)}

_decoders: dict[str, msgspec.json.Decoder[Event]] = {
    name: msgspec.json.Decoder(cls) for name, cls in EVENT_TYPES.items()
}
_encoder = msgspec.json.Encoder()


class UnknownEventType(ValueError):
    pass


def type_name(event: Event) -> str:
    return type(event).__name__


def stream_type(event: Event) -> StreamType:
    return "account" if isinstance(event, ACCOUNT_EVENT_TYPES) else "order"


def encode_data(event: Event) -> bytes:
    return _encoder.encode(event)


def decode_data(name: str, data: bytes) -> Event:
    try:
        decoder = _decoders[name]
    except KeyError:
        raise UnknownEventType(f"event type {name!r} is not one of {', '.join(EVENT_TYPES)}") from None
    return decoder.decode(data)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as the store holds it: where it sits in its stream and in the global order."""

    stream_id: uuid.UUID
    version: int
    event: Event
    global_position: int
    tx_id: int
    created_at: dt.datetime

    @property
    def type(self) -> str:
        return type_name(self.event)
