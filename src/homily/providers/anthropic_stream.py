"""Anthropic streaming events to OpenAI-style stream deltas."""

from __future__ import annotations

from typing import Any

import orjson

from homily.errors import ProviderError
from homily.providers.anthropic_format import empty_completion, finish_reason, stream_error, usage_from
from homily.providers.mapping import int_field
from homily.providers.sse_decoder import SSEEvent
from homily.providers.types import StreamDelta, ToolCallDelta, Usage


class AnthropicStreamTranslator:
    """Consumes one response's events in order and returns the deltas each produces.

    Invariants: content blocks keep their order; each `tool_use` block becomes the next OpenAI tool-call
    `index`, its first delta carries `id` and `name`, and its `input_json_delta` fragments follow in arrival
    order, so concatenating them gives the whole arguments. The finish reason and usage are emitted once, on
    `message_stop`. State is O(number of content blocks).
    """

    def __init__(self) -> None:
        self._tool_index: dict[int, int] = {}
        self._usage: dict[str, int] = {}
        self._stop_reason: object = None
        self._emitted = False
        self._thought = False
        self.finished = False

    def feed(self, event: SSEEvent) -> list[StreamDelta]:
        try:
            data = orjson.loads(event.data)
        except orjson.JSONDecodeError as exc:
            raise ProviderError(f"The Anthropic upstream sent a malformed stream event: {exc}.") from exc
        if not isinstance(data, dict):
            raise ProviderError("The Anthropic upstream sent a stream event that is not an object.")
        kind = data.get("type", event.event)
        if kind == "message_start":
            message = data.get("message")
            if isinstance(message, dict):
                self._merge_usage(message.get("usage"))
        elif kind == "content_block_start":
            return self._block_start(data)
        elif kind == "content_block_delta":
            return self._block_delta(data)
        elif kind == "message_delta":
            delta = data.get("delta")
            if isinstance(delta, dict) and "stop_reason" in delta:
                self._stop_reason = delta["stop_reason"]
            self._merge_usage(data.get("usage"))
        elif kind == "message_stop":
            return [self._finish()]
        elif kind == "error":
            raise stream_error(data)
        return []

    def _block_start(self, data: dict[str, Any]) -> list[StreamDelta]:
        block = data.get("content_block")
        index = data.get("index")
        if not isinstance(block, dict) or not isinstance(index, int):
            return []
        kind = block.get("type")
        if kind == "text" and block.get("text"):
            return [self._content(str(block["text"]))]
        if kind == "tool_use":
            call_id, name = block.get("id"), block.get("name")
            if not isinstance(call_id, str) or not isinstance(name, str):
                raise ProviderError("The Anthropic upstream started a tool_use block without id or name.")
            position = len(self._tool_index)
            self._tool_index[index] = position
            self._emitted = True
            initial = block.get("input")
            arguments = orjson.dumps(initial).decode() if isinstance(initial, dict) and initial else ""
            return [StreamDelta(tool_calls=[ToolCallDelta(index=position, id=call_id, name=name, arguments=arguments)])]
        if kind in {"thinking", "redacted_thinking"}:
            self._thought = True
        return []

    def _block_delta(self, data: dict[str, Any]) -> list[StreamDelta]:
        delta = data.get("delta")
        index = data.get("index")
        if not isinstance(delta, dict):
            return []
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [self._content(str(delta["text"]))]
        if kind == "input_json_delta" and delta.get("partial_json"):
            position = self._tool_index.get(index) if isinstance(index, int) else None
            if position is None:
                raise ProviderError("The Anthropic upstream sent tool input for a block that is not a tool_use.")
            return [StreamDelta(tool_calls=[ToolCallDelta(index=position, arguments=str(delta["partial_json"]))])]
        if kind in {"thinking_delta", "signature_delta"}:
            self._thought = True
        return []

    def _content(self, text: str) -> StreamDelta:
        self._emitted = True
        return StreamDelta(content=text)

    def _merge_usage(self, usage: object) -> None:
        # message_delta usage is cumulative, so later values replace earlier ones field by field.
        if isinstance(usage, dict):
            for key in (
                "input_tokens",
                "output_tokens",
                "cache_read_input_tokens",
                "cache_creation_input_tokens",
            ):
                if key in usage and usage[key] is not None:
                    self._usage[key] = int_field(usage, key)

    def _finish(self) -> StreamDelta:
        self.finished = True
        reason = finish_reason(self._stop_reason, bool(self._tool_index))
        if reason == "length" and not self._emitted:
            raise empty_completion(self._thought)
        return StreamDelta(finish_reason=reason, usage=self.usage)

    @property
    def usage(self) -> Usage:
        return usage_from(self._usage)
