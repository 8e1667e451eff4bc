"""The load of a run from what was asked: closed model (users who think) or open model (a rate), and the ramp."""

from __future__ import annotations

import math

from bench.run.settings import LoadSettings
from scenarios.catalog import DEFAULT_THINK_TIME
from scenarios.keys import Skew

DEFAULT_USERS = 1_000
DEFAULT_RAMP_SECONDS = 10.0  # closed model: a population arrives over time
OPEN_MODEL_RAMP_SECONDS = 2.0  # open model: the users are only connections waiting for the schedule
MAX_ACTIONS_PER_USER_SECOND = 1_000.0  # an open-model user sends one action at a time, none faster than 1 ms


class LoadError(ValueError):
    """Settings that cannot make a load together; the message names the options and what was expected."""


def open_model_users(rate: float, users: int | None) -> int:
    """In the open model users are the requests that may be in flight; enough for one second of arrivals."""
    needed = math.ceil(rate / MAX_ACTIONS_PER_USER_SECOND)
    if users is None:
        return max(10, math.ceil(rate))
    if users < needed:
        raise LoadError(
            f"--rate {rate:g} with --users {users} is impossible: each user has one action in flight and none "
            f"completes in under 1 ms, so the rate needs at least {needed} users (or leave --users out)"
        )
    return users


def load_settings(
    *,
    scenario: str,
    mix: str,
    users: int | None,
    spawn_rate: float | None,
    rate: float | None,
    duration: float,
    warmup: float,
    processes: int,
    think_time: tuple[float, float] | None,
    skew: Skew,
    visibility_share: float,
    seed: int,
) -> LoadSettings:
    """The load asked for, with the defaults of its model; None means not given. Checks how the values combine."""
    if rate is not None:
        if think_time is not None:
            raise LoadError(
                "--think-time belongs to the closed model; with --rate the arrival schedule paces every action"
            )
        users = open_model_users(rate, users)
    users = users if users is not None else DEFAULT_USERS
    ramp_seconds = OPEN_MODEL_RAMP_SECONDS if rate is not None else DEFAULT_RAMP_SECONDS
    if processes > users:
        raise LoadError(f"--processes {processes} needs at least as many users, got --users {users}")
    return LoadSettings(
        scenario=scenario,
        mix=mix,
        users=users,
        spawn_rate=spawn_rate if spawn_rate is not None else max(1.0, users / ramp_seconds),
        rate=rate,
        duration=duration,
        warmup=warmup,
        processes=processes,
        think_time=think_time or DEFAULT_THINK_TIME,
        skew=skew,
        visibility_share=visibility_share,
        seed=seed,
    )
