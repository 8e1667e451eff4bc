"""uvicorn's httptools protocol with a deadline on each request's headers, and JSON for its own refusals.

uvicorn times out a keep-alive connection only between two requests: a client that connects and never
sends, or sends its headers a byte at a time, holds the connection (and its memory) forever. Here a
connection must finish the headers of its first request within BENCH_HEADER_TIMEOUT_MS of connecting,
and each later request within as long of its first byte. A connection that never began a request is
closed without a word (a client may have been about to send; RFC 9112 9.5 lets either side close an idle
connection); one stuck in its headers gets a 408 with the targets' JSON error body. Once the headers are
in, the application's own limits apply.
"""

from __future__ import annotations

import asyncio
import functools
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from targets.common.settings import TargetSettings

STATUS_LINES = {400: b"HTTP/1.1 400 Bad Request\r\n", 408: b"HTTP/1.1 408 Request Timeout\r\n"}


@functools.cache
def header_timeout_s() -> float:
    """Read when the first connection arrives: the app factory has validated the settings by then."""
    return TargetSettings.from_env().header_timeout_ms / 1000


def error_response(status: int, code: str, detail: str) -> bytes:
    body = json.dumps({"error": code, "detail": detail}).encode()
    head = b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body)
    return STATUS_LINES[status] + head + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    _header_deadline: asyncio.TimerHandle | None = None
    _in_request = False  # between a request's first byte and its last header

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_request = True
        if self._header_deadline is None:  # a first request keeps the deadline it had from the connection's start
            self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._in_request = False
        self._disarm_header_deadline()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        self._disarm_header_deadline()
        self.transport.write(error_response(400, "bad_request", msg))
        self.transport.close()

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(header_timeout_s(), self._header_deadline_passed)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_deadline_passed(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        if self._in_request:
            limit = f"{header_timeout_s() * 1000:,.0f} ms"
            detail = f"the request's headers did not arrive within {limit} (BENCH_HEADER_TIMEOUT_MS)"
            self.transport.write(error_response(408, "request_timeout", detail))
        self.transport.close()
