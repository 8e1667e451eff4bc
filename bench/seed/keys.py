"""The key files the scenarios pick from: one id per line, in seeding order (hottest first under Zipf)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

from scenarios.catalog import ACCOUNT_KEYS, CUSTOMER_KEYS, ORDER_KEYS
from targets.common.dataset import Dataset


def write_key_file(path: Path, ids: Sequence[uuid.UUID | str]) -> None:
    path.write_text("".join(f"{key}\n" for key in ids))


def write_keys(data: Dataset, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = {ACCOUNT_KEYS: data.account_ids, CUSTOMER_KEYS: data.customer_ids, ORDER_KEYS: data.orders.ids}
    for name, ids in files.items():
        write_key_file(directory / name, ids)
    return [directory / name for name in files]
