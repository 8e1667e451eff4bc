"""Free TCP ports, and starting a server on one despite the race between choosing and binding it."""

import socket
from collections.abc import Callable
from typing import TypeVar

from bench.infra.errors import InfraError

T = TypeVar("T")


class PortTakenError(InfraError):
    """A server could not bind the port it was given: someone took it after we chose it."""


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def start_on_free_port(start: Callable[[int], T], *, host: str = "127.0.0.1", attempts: int = 3) -> T:
    """Call `start(port)` with a fresh free port, again with a new port if it raises PortTakenError."""
    for attempt in range(1, attempts + 1):
        try:
            return start(free_tcp_port(host))
        except PortTakenError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable: attempts must be >= 1")
