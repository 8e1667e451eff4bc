"""Slow and silent clients: a request's headers have a deadline, and the server's own refusals are JSON."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.infra.errors import InfraError
from bench.infra.target_process import RunningTarget, start_target
from targets.registry import get_target

pytestmark = pytest.mark.timeout(60)

HEADER_TIMEOUT_S = 0.4
REQUEST = b"GET /health HTTP/1.1\r\nHost: target\r\n\r\n"


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTarget]:
    target = start_target(
        get_target("floor"),
        settings_env={"BENCH_HEADER_TIMEOUT_MS": str(int(HEADER_TIMEOUT_S * 1000))},
        log_dir=tmp_path_factory.mktemp("floor"),
    )
    yield target
    target.stop()


def connect(target: RunningTarget) -> socket.socket:
    address = urlsplit(target.base_url)
    assert address.hostname is not None
    assert address.port is not None
    connection = socket.create_connection((address.hostname, address.port), timeout=10)
    connection.settimeout(10)  # every recv below is bounded: a server that never answers fails the test
    return connection


def read_until_closed(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def read_response(connection: socket.socket) -> tuple[int, bytes]:
    """One response with a content-length body: (status, body)."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        assert chunk, f"the connection closed mid-response: {received!r}"
        received += chunk
    head, body = received.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    length = next(int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length:"))
    while len(body) < length:
        chunk = connection.recv(65536)
        assert chunk, "the connection closed mid-body"
        body += chunk
    return int(lines[0].split()[1]), body


def parse_error(raw: bytes) -> tuple[int, dict[str, str]]:
    head, body = raw.split(b"\r\n\r\n", 1)
    status_line, *headers = head.decode().split("\r\n")
    assert "content-type: application/json" in [header.lower() for header in headers], headers
    return int(status_line.split()[1]), json.loads(body)


def test_a_connection_that_never_sends_a_request_is_closed_without_an_answer(floor: RunningTarget) -> None:
    with connect(floor) as connection:
        started = time.monotonic()
        assert read_until_closed(connection) == b""
        assert time.monotonic() - started >= HEADER_TIMEOUT_S * 0.9


def test_headers_sent_a_byte_at_a_time_are_cut_off_with_a_json_408(floor: RunningTarget) -> None:
    # The deadline runs from the connection's start: each byte arriving in time does not extend it.
    slow_request = b"GET /health HTTP/1.1\r\nHost: target\r\nX-Padding: " + b"x" * 100 + b"\r\n\r\n"
    with connect(floor) as connection:
        sent = 0
        # A byte every 50 ms, until the server has something to say (its answer, or the end of the connection).
        while sent < len(slow_request) and not select.select([connection], [], [], 0.05)[0]:
            connection.sendall(slow_request[sent : sent + 1])
            sent += 1
        assert sent < len(slow_request), "the server waited for every byte"
        status, body = parse_error(read_until_closed(connection))
    assert status == 408
    assert body["error"] == "request_timeout"
    assert "BENCH_HEADER_TIMEOUT_MS" in body["detail"]


def test_each_request_on_a_kept_alive_connection_gets_the_whole_deadline(floor: RunningTarget) -> None:
    # Three requests whose headers each take 60% of the deadline: only a deadline per request lets all through.
    with connect(floor) as connection:
        for _ in range(3):
            half = len(REQUEST) // 2
            connection.sendall(REQUEST[:half])
            time.sleep(HEADER_TIMEOUT_S * 0.6)  # the slow client under test
            connection.sendall(REQUEST[half:])
            status, body = read_response(connection)
            assert (status, json.loads(body)["status"]) == (200, "ok")


def test_a_request_that_is_not_http_gets_a_json_400(floor: RunningTarget) -> None:
    with connect(floor) as connection:
        connection.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        status, body = parse_error(read_until_closed(connection))
    assert status == 400
    assert body["error"] == "bad_request"


@pytest.mark.parametrize("value", ["soon", "50", "600001"])
def test_a_bad_header_timeout_stops_the_target_before_it_starts(tmp_path: Path, value: str) -> None:
    with pytest.raises(InfraError, match="BENCH_HEADER_TIMEOUT_MS"):
        start_target(get_target("floor"), settings_env={"BENCH_HEADER_TIMEOUT_MS": value}, log_dir=tmp_path)
