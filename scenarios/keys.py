"""Picking keys from the seeded data: uniformly, or Zipf-skewed so that a few hot keys get most of the traffic."""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SKEW_SYNTAX = "'uniform' or 'zipf:S' with an exponent S > 0 (e.g. zipf:1.1)"


@dataclass(frozen=True)
class Skew:
    """How keys are chosen: exponent 0 is uniform; s > 0 gives the key of rank k a weight of 1 / k**s."""

    exponent: float = 0.0

    def __str__(self) -> str:
        return "uniform" if self.exponent == 0 else f"zipf:{self.exponent:g}"


def parse_skew(text: str) -> Skew:
    kind, _, argument = text.strip().lower().partition(":")
    if kind == "uniform" and not argument:
        return Skew()
    if kind == "zipf":
        try:
            exponent = float(argument)
        except ValueError:
            exponent = -1.0
        if exponent > 0:
            return Skew(exponent)
    raise ValueError(f"{text!r} is not a key skew; expected {SKEW_SYNTAX}")


class KeyPicker:
    """Draws keys of one kind; with Zipf skew the first key in the file is the hottest."""

    def __init__(self, keys: tuple[str, ...], skew: Skew) -> None:
        if not keys:
            raise ValueError("there are no keys to pick from")
        self.keys = keys
        self._cumulative: list[float] | None = None
        if skew.exponent > 0:
            weights = (1.0 / rank**skew.exponent for rank in range(1, len(keys) + 1))
            self._cumulative = list(itertools.accumulate(weights))

    def pick(self, rng: random.Random) -> str:
        if self._cumulative is None:
            return self.keys[rng.randrange(len(self.keys))]
        point = rng.random() * self._cumulative[-1]
        return self.keys[min(bisect.bisect_right(self._cumulative, point), len(self.keys) - 1)]


def read_keys(path: Path) -> tuple[str, ...]:
    try:
        return tuple(path.read_text().split())
    except FileNotFoundError:
        raise FileNotFoundError(f"key file {path} does not exist; seed first (bench seed / bench run)") from None


@cache
def key_picker(path: Path, skew: Skew) -> KeyPicker:
    """One picker per file and skew per process: users share it (it holds no state)."""
    return KeyPicker(read_keys(path), skew)
