"""Incremental `text/event-stream` decoding with a bounded buffer."""

from __future__ import annotations

from dataclasses import dataclass


class OversizedEventError(ValueError):
    """One event (or one unterminated line) grew past the decoder's limit."""


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str | None
    data: str


class SSEDecoder:
    """Turns arbitrary byte chunks into complete server-sent events.

    Invariant: the decoder never holds more than `max_event_bytes` of undelivered data, so a hostile or broken
    upstream cannot grow memory without bound. Lines may end in LF or CRLF (Gemini sends CRLF). An event is
    dispatched only on its terminating blank line; `pending` tells whether the stream stopped inside an event
    (a truncated stream).
    """

    def __init__(self, max_event_bytes: int) -> None:
        self._max = max_event_bytes
        self._buffer = bytearray()
        self._data: list[str] = []
        self._data_bytes = 0
        self._event: str | None = None

    @property
    def pending(self) -> bool:
        """True when bytes of an event not yet terminated by a blank line are buffered."""
        return bool(self._buffer.strip()) or bool(self._data) or self._event is not None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        # The buffered tail holds no newline, so only the new bytes need searching (no quadratic rescans).
        search_from = len(self._buffer)
        self._buffer += chunk
        events: list[SSEEvent] = []
        start = 0
        while True:
            end = self._buffer.find(b"\n", max(start, search_from))
            if end < 0:
                break
            line = bytes(self._buffer[start:end])
            start = end + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            event = self._line(line)
            if event is not None:
                events.append(event)
        del self._buffer[:start]
        if len(self._buffer) + self._data_bytes > self._max:
            self._overflow()
        return events

    def _line(self, line: bytes) -> SSEEvent | None:
        if not line:
            if not self._data and self._event is None:
                return None
            event = SSEEvent(self._event, "\n".join(self._data))
            self._data, self._data_bytes, self._event = [], 0, None
            return event
        if line.startswith(b":"):
            return None
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        text = value.decode("utf-8", errors="replace")
        if field == b"data":
            self._data.append(text)
            self._data_bytes += len(value) + 1
            if self._data_bytes > self._max:
                self._overflow()
        elif field == b"event":
            self._event = text
        return None

    def _overflow(self) -> None:
        # Drop the buffered bytes before raising: a traceback keeps this decoder alive until the garbage
        # collector breaks the exception's reference cycles, and it must not keep megabytes alive with it.
        self._buffer = bytearray()
        self._data, self._data_bytes, self._event = [], 0, None
        raise OversizedEventError(f"server-sent event larger than {self._max} bytes")
