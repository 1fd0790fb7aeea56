"""The bounded incremental SSE decoder used by the Anthropic and Gemini adapters."""

from __future__ import annotations

import pytest

from homily.providers.sse_decoder import OversizedEventError, SSEDecoder, SSEEvent


def test_events_split_anywhere_decode_the_same() -> None:
    wire = b'event: ping\ndata: {"type": "ping"}\n\n: comment\r\ndata: line one\r\ndata: line two\r\n\r\nid: 7\n\n'
    expected = [SSEEvent("ping", '{"type": "ping"}'), SSEEvent(None, "line one\nline two")]
    for size in (1, 2, 3, 7, len(wire)):
        decoder = SSEDecoder(1024)
        events = [event for start in range(0, len(wire), size) for event in decoder.feed(wire[start : start + size])]
        assert events == expected
        assert not decoder.pending


def test_a_stream_cut_inside_an_event_is_pending() -> None:
    decoder = SSEDecoder(1024)
    assert decoder.feed(b"data: complete\n\ndata: half") == [SSEEvent(None, "complete")]
    assert decoder.pending
    decoder = SSEDecoder(1024)
    decoder.feed(b"data: no blank line yet\n")
    assert decoder.pending


def test_utf8_split_across_chunks() -> None:
    decoder = SSEDecoder(1024)
    raw = "data: Jérusalem ✝\n\n".encode()
    middle = raw.index("✝".encode()) + 1
    assert decoder.feed(raw[:middle]) == []
    assert decoder.feed(raw[middle:]) == [SSEEvent(None, "Jérusalem ✝")]


@pytest.mark.parametrize("wire", [b"data: " + b"x" * 2000, b"data: " + b"x" * 600 + b"\ndata: " + b"y" * 600 + b"\n"])
def test_oversized_events_are_refused(wire: bytes) -> None:
    with pytest.raises(OversizedEventError):
        SSEDecoder(1024).feed(wire)
