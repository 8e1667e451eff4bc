"""Polling against a deadline: the only way the infrastructure layer waits for something to happen."""

import time
from collections.abc import Callable

from bench.infra.errors import InfraError


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.02) -> None:
    """Call `check` every `interval` seconds until it returns True; raise InfraError after `timeout`.

    An exception from `check` counts as "not yet"; the last one is named in the error and chained to it.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            if check():
                return
        except Exception as error:
            last_error = error
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            message = f"{what} did not become ready within {timeout:g} s"
            if last_error is not None:
                message += f" (last error: {type(last_error).__name__}: {last_error})"
            raise InfraError(message) from last_error
        time.sleep(min(interval, remaining))
