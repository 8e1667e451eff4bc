"""Time travel: a stream's events up to a global position or a moment, and its state at that point."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import msgspec

from targets.cqrs.events import RecordedEvent
from targets.cqrs.eventstore import EventStore
from targets.cqrs.fold import StreamView, fold_stream

AsOf = int | dt.datetime


def parse_as_of(raw: str) -> AsOf:
    """A global position (a non-negative integer) or an ISO 8601 timestamp (UTC unless it names its offset)."""
    text = raw.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"expected a global position (an integer >= 0) or an ISO 8601 timestamp "
            f"such as 2025-01-31T12:00:00+00:00, got {raw!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class History:
    stream_id: uuid.UUID
    as_of: AsOf | None
    events: list[RecordedEvent]
    state: StreamView | None


async def stream_history(store: EventStore, stream_id: uuid.UUID, as_of: AsOf | None = None) -> History:
    # Per stream, global positions and created_at grow with the version, so both cut-offs keep a prefix.
    events = await store.read_stream(
        stream_id,
        upto_position=as_of if isinstance(as_of, int) else None,
        upto_time=as_of if isinstance(as_of, dt.datetime) else None,
    )
    return History(stream_id, as_of, events, fold_stream(stream_id, events))


class _EventLine(msgspec.Struct):
    version: int
    global_position: int
    tx_id: int
    created_at: dt.datetime
    type: str
    data: msgspec.Raw


class _HistoryDocument(msgspec.Struct):
    stream_id: uuid.UUID
    as_of: int | dt.datetime | None
    events: list[_EventLine]
    state: msgspec.Raw | None


def _event_line(recorded: RecordedEvent) -> _EventLine:
    return _EventLine(
        version=recorded.version,
        global_position=recorded.global_position,
        tx_id=recorded.tx_id,
        created_at=recorded.created_at,
        type=recorded.type,
        data=msgspec.Raw(msgspec.json.encode(recorded.event)),
    )


def history_json(history: History) -> bytes:
    return msgspec.json.encode(
        _HistoryDocument(
            stream_id=history.stream_id,
            as_of=history.as_of,
            events=[_event_line(e) for e in history.events],
            state=msgspec.Raw(msgspec.json.encode(history.state)) if history.state is not None else None,
        )
    )


def history_text(history: History) -> str:
    point = "now" if history.as_of is None else f"as of {history.as_of}"
    lines = [f"stream {history.stream_id}, {point}: {len(history.events)} event(s)"]
    for recorded in history.events:
        data = msgspec.json.encode(recorded.event).decode()
        lines.append(
            f"  v{recorded.version:<4} pos {recorded.global_position:<10} {recorded.created_at.isoformat()}  "
            f"{recorded.type} {data}"
        )
    state = msgspec.json.format(msgspec.json.encode(history.state)).decode() if history.state is not None else "none"
    lines.append(f"state: {state}")
    return "\n".join(lines)
