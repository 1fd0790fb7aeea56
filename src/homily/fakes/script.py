"""Provider-neutral scripted behaviours for the fake upstreams."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Literal

FakeFinish = Literal["stop", "length", "tool_calls", "content_filter", "malformed_call"]


@dataclass(frozen=True, slots=True)
class FakeToolCall:
    name: str
    arguments: str
    """The call's arguments as JSON text (an object)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted upstream behaviour; each fake renders it in its provider's true wire format.

    Content fields say what the model answers; fault fields say how the transport misbehaves. Event counts
    refer to the stream's wire events (Anthropic events or Gemini chunks) in the order the fake would send
    them.
    """

    text: str | None = "Hello from the fake upstream."
    tool_calls: tuple[FakeToolCall, ...] = ()
    finish: FakeFinish | None = None
    """None derives `tool_calls` when calls were scripted, else `stop`."""
    native_finish: str | None = None
    """A raw provider stop/finish reason, overriding `finish` (e.g. Gemini `SPII`, Anthropic `refusal`)."""
    thinking: str | None = None
    echo: bool = False
    """Answer with the text of the last user message instead of `text`."""
    prompt_tokens: int = 12
    completion_tokens: int = 7
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0
    chunk_chars: int = 6
    """How many characters of text (or of tool-call JSON, for Anthropic) go into each streamed delta."""

    status: int = 200
    error_message: str = "scripted failure"
    retry_after: str | None = None
    delay_before_headers: float = 0.0
    delay_between_events: float = 0.0
    hang_after_events: int | None = None
    abort_after_events: int | None = None
    truncate_after_events: int | None = None
    stream_error_after_events: int | None = None
    """Anthropic only: send an in-band `error` event (overloaded) after this many events."""
    malformed_json: bool = False
    oversized_bytes: int = 0
    """Pad the body (or the first stream event) with this many bytes of filler."""

    @property
    def resolved_finish(self) -> FakeFinish:
        if self.finish is not None:
            return self.finish
        return "tool_calls" if self.tool_calls else "stop"


class Script:
    """A thread-safe FIFO of replies; when empty, every request gets `default`.

    Bounded: at most `max_pending` replies may be queued, so a runaway test cannot grow it without limit.
    """

    def __init__(self, default: Reply | None = None, max_pending: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._pending: deque[Reply] = deque()
        self._max = max_pending
        self.default = default or Reply()

    def push(self, *replies: Reply) -> None:
        with self._lock:
            if len(self._pending) + len(replies) > self._max:
                raise OverflowError(f"more than {self._max} scripted replies pending")
            self._pending.extend(replies)

    def next(self) -> Reply:
        with self._lock:
            return self._pending.popleft() if self._pending else self.default

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)


def split_text(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)] or []
