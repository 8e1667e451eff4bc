"""Turning SIGTERM into a normal exit, so that `with` blocks (and so Infrastructure) clean up."""

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def sigterm_exits() -> Iterator[None]:
    """While active, SIGTERM raises SystemExit(143) in the main thread instead of killing the process.

    Python's default is to die on SIGTERM without unwinding, which leaves temp dirs behind (the
    servers themselves die anyway, by their parent-death signal). Call from the main thread.
    """

    def exit_cleanly(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_cleanly)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
