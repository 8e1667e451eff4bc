"""What Locust workers and the master say to each other, over Locust's own messages.

As Locust pairs StatsEntry.serialize with unserialize, each message type has `to_message`
(what runner.send_message carries) and `from_message` (what the handler gets back). Between
processes histograms travel encoded; within one process (a local run) the message is the
struct itself, histograms and all: encoding would only cost the load generator time.
"""

from __future__ import annotations

from typing import Any, Self

import msgspec
from hdrh.histogram import HdrHistogram

REPORT_MESSAGE = "bench_report"
SCHEDULE_MESSAGE = "bench_schedule"
MESSAGE_FORMAT = 2  # of the messages on the wire; a worker and a master of different versions refuse each other
FORMAT_KEY = "format"


class MessageError(ValueError):
    """A message this version cannot read: another version of cqrs-bench sent it, or it is damaged."""


def _encode_hook(value: Any) -> Any:
    if isinstance(value, HdrHistogram):
        encoded: bytes = value.encode()
        return encoded.decode("ascii")
    raise NotImplementedError(f"{type(value).__name__} cannot travel in a message")


def _decode_hook(kind: type, value: Any) -> Any:
    if issubclass(kind, HdrHistogram) and isinstance(value, str):
        return HdrHistogram.decode(value.encode("ascii"))
    raise NotImplementedError(f"expected an encoded HdrHistogram, got {type(value).__name__}")


class _Message(msgspec.Struct, forbid_unknown_fields=True):
    def to_message(self, *, encoded: bool) -> Any:
        """Plain data with the message format for the wire (`encoded`), else the struct itself; Locust types neither."""
        if not encoded:
            return self
        data: dict[str, Any] = msgspec.to_builtins(self, enc_hook=_encode_hook)
        return {FORMAT_KEY: MESSAGE_FORMAT, **data}

    @classmethod
    def from_message(cls, data: object) -> Self:
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise MessageError(f"a {cls.__name__} message is {type(data).__name__}; expected a mapping")
        found = data.get(FORMAT_KEY)
        if found != MESSAGE_FORMAT:
            raise MessageError(
                f"a {cls.__name__} message of format {found} came from another version of cqrs-bench; this one reads "
                f"format {MESSAGE_FORMAT}: run the same version on the master and every worker"
            )
        fields = {key: value for key, value in data.items() if key != FORMAT_KEY}
        try:
            return msgspec.convert(fields, cls, dec_hook=_decode_hook)
        except msgspec.ValidationError as error:
            raise MessageError(f"a {cls.__name__} message does not fit: {error}") from None


class EndpointSecond(msgspec.Struct, forbid_unknown_fields=True):
    latency: HdrHistogram
    intended: HdrHistogram | None  # open model only: measured from each request's intended start
    failures: dict[str, int]  # by kind ("HTTP 409", an exception's name)


class WorkerSecond(msgspec.Struct, forbid_unknown_fields=True):
    second: int
    endpoints: dict[str, EndpointSecond]
    visibility: dict[str, HdrHistogram]  # by domain: time until a probe's write was visible
    not_visible: dict[str, int]
    actions: int
    loop_lag_max_ms: float
    loop_lag_mean_ms: float
    gc_pause_ms: float = 0.0  # the process's garbage collections that second, summed: they stop its loop too
    gc_full_collections: int = 0  # of them, those of the oldest generation (the ones that walk every object)


class WorkerReport(_Message):
    """A worker's seconds that are over, sent once a second; `through` is the last second it covers fully."""

    worker: int
    through: int
    cpu: float | None  # the worker's own CPU, percent of a core, since its previous report
    seconds: list[WorkerSecond]


class Schedule(_Message):
    """The open model's arrival schedule for one worker: its share of `rate`, from `t0` (epoch seconds)."""

    t0: float
    rate: float
    index: int
    count: int
