"""What both read stores return, made into the contract's views the same way (Redis replies, PostgreSQL rows)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec

from targets.common import contract

transaction_line = msgspec.json.Decoder(contract.Transaction)
order_items = msgspec.json.Decoder(list[contract.OrderLine])


def order_status(raw: str) -> contract.OrderStatus:
    assert raw in contract.ORDER_STATUSES, f"unknown order status {raw!r} in the read model"
    return raw


def statement_view(
    account_id: uuid.UUID, balance: int, version: int, deposited: int, opened_empty: int, lines: Sequence[bytes | str]
) -> contract.Statement:
    """A statement from an account's stored fields and its newest statement lines (contract JSON).
    The totals follow from the fields: withdrawn = deposited - balance, count = version - opened_empty."""
    return contract.Statement(
        id=account_id,
        balance=balance,
        version=version,
        transactions=[transaction_line.decode(line) for line in lines],
        totals=contract.StatementTotals(
            deposited=deposited, withdrawn=deposited - balance, count=version - opened_empty
        ),
    )
