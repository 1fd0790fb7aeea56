"""Reading server-sent events from an upstream response body."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp


async def iter_sse_data(content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """Yield the `data:` payload of each event (multi-line data joined by newlines); comments and other fields skip.

    The caller learns of a truncated stream by the iterator ending without its protocol's terminator.
    """
    data_lines: list[bytes] = []
    async for raw_line in content:
        line = raw_line.rstrip(b"\r\n")
        if not line:
            if data_lines:
                yield b"\n".join(data_lines)
                data_lines = []
            continue
        if line.startswith(b"data:"):
            data_lines.append(line[5:].lstrip(b" "))
    if data_lines:
        yield b"\n".join(data_lines)
