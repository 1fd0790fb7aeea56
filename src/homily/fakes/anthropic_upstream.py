"""A fake Anthropic Messages API (`POST /v1/messages`), plain and streaming, scriptable with `Reply`s.

Run standalone: `python -m homily.fakes.anthropic_upstream --port 8101` (answers by echoing the last user
turn).
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from aiohttp import web

from homily.fakes.script import Reply, split_text
from homily.fakes.server import FakeUpstream, serve_main

_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
    "malformed_call": "end_turn",
}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps({"type": name, **data}) + b"\n\n"


def _last_user_text(body: Any) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        texts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        if texts:
            return "\n".join(texts)
    return ""


class AnthropicUpstream(FakeUpstream):
    """Fake Anthropic upstream. Validates requests the way the real API does (headers, `max_tokens`, roles,
    the temperature range, tool_use/tool_result pairing) and answers in the real response and event shapes."""

    provider = "anthropic"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1/messages", self._messages)]

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        stream = False
        try:
            body = orjson.loads(raw)
            stream = isinstance(body, dict) and body.get("stream") is True
        except orjson.JSONDecodeError:
            pass
        return await self.respond(request, stream=stream)

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = _ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def check_request(self, request: web.Request, body: Any) -> tuple[int, str] | None:
        if request.headers.get("x-api-key") != self.api_key:
            return 401, "invalid x-api-key"
        if not request.headers.get("anthropic-version"):
            return 400, "anthropic-version: header is required"
        if not isinstance(body, dict):
            return 400, "body must be a JSON object"
        if not isinstance(body.get("model"), str):
            return 400, "model: Field required"
        if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
            return 400, "max_tokens: Field required"
        temperature = body.get("temperature")
        if temperature is not None and not 0 <= temperature <= 1:
            return 400, "temperature: Input should be less than or equal to 1"
        if "temperature" in body and "top_p" in body:
            return 400, "temperature and top_p cannot both be specified for this model"
        return self._check_tools(body) or self._check_messages(body)

    def _check_tools(self, body: dict[str, Any]) -> tuple[int, str] | None:
        names = set()
        for tool in body.get("tools", []):
            if not isinstance(tool.get("name"), str) or not isinstance(tool.get("input_schema"), dict):
                return 400, "tools: each tool needs name and input_schema"
            names.add(tool["name"])
        choice = body.get("tool_choice")
        if choice is not None:
            if choice.get("type") not in {"auto", "any", "tool", "none"}:
                return 400, "tool_choice.type: invalid"
            if choice["type"] == "tool" and choice.get("name") not in names:
                return 400, "tool_choice.name: no tool with that name"
        return None

    def _check_messages(self, body: dict[str, Any]) -> tuple[int, str] | None:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, "messages: at least one message is required"
        pending: set[str] = set()
        for index, message in enumerate(messages):
            role, content = message.get("role"), message.get("content")
            if role not in {"user", "assistant"}:
                return 400, f"messages.{index}.role: Input should be 'user' or 'assistant'"
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            if not isinstance(blocks, list) or not blocks:
                return 400, f"messages.{index}.content: must be non-empty"
            answered = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
            if pending and (role != "user" or not pending <= answered):
                return (
                    400,
                    f"messages.{index}: tool_use ids were found without tool_result blocks immediately after",
                )
            if answered - pending:
                return 400, f"messages.{index}: unexpected tool_use_id found in tool_result blocks"
            pending = set()
            for block in blocks:
                if block.get("type") == "text" and not str(block.get("text", "")).strip():
                    return 400, f"messages.{index}: text content blocks must contain non-whitespace text"
                if block.get("type") == "tool_use":
                    if role != "assistant" or not isinstance(block.get("input"), dict):
                        return 400, f"messages.{index}: invalid tool_use block"
                    pending.add(str(block.get("id")))
        return None

    # ----- rendering -----

    def _usage(self, reply: Reply) -> dict[str, int]:
        return {
            "input_tokens": reply.prompt_tokens - reply.cached_tokens - reply.cache_creation_tokens,
            "output_tokens": reply.completion_tokens,
            "cache_read_input_tokens": reply.cached_tokens,
            "cache_creation_input_tokens": reply.cache_creation_tokens,
        }

    def _text(self, reply: Reply, body: Any) -> str | None:
        return _last_user_text(body) if reply.echo else reply.text

    def _stop_reason(self, reply: Reply) -> str:
        return reply.native_finish or _STOP_REASONS[reply.resolved_finish]

    def render_body(self, reply: Reply, body: Any) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if reply.thinking:
            signature = secrets.token_hex(16)
            content.append({"type": "thinking", "thinking": reply.thinking, "signature": signature})
        text = self._text(reply, body)
        if text:
            content.append({"type": "text", "text": text})
        content.extend(
            {"type": "tool_use", "id": _tool_id(), "name": call.name, "input": orjson.loads(call.arguments)}
            for call in reply.tool_calls
        )
        return {
            "id": "msg_" + secrets.token_hex(12),
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": content,
            "stop_reason": self._stop_reason(reply),
            "stop_sequence": None,
            "usage": self._usage(reply),
        }

    def render_events(self, reply: Reply, body: Any) -> list[bytes]:
        usage = self._usage(reply)
        message = {
            "id": "msg_" + secrets.token_hex(12),
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": 1},
        }
        events = [_event("message_start", {"message": message}), _event("ping", {})]
        blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        if reply.thinking:
            deltas = [{"type": "thinking_delta", "thinking": p} for p in split_text(reply.thinking, reply.chunk_chars)]
            deltas.append({"type": "signature_delta", "signature": secrets.token_hex(16)})
            blocks.append(({"type": "thinking", "thinking": ""}, deltas))
        text = self._text(reply, body)
        if text:
            deltas = [{"type": "text_delta", "text": p} for p in split_text(text, reply.chunk_chars)]
            blocks.append(({"type": "text", "text": ""}, deltas))
        for call in reply.tool_calls:
            start = {"type": "tool_use", "id": _tool_id(), "name": call.name, "input": {}}
            pieces = split_text(call.arguments, reply.chunk_chars)
            blocks.append((start, [{"type": "input_json_delta", "partial_json": p} for p in pieces]))
        for index, (start, deltas) in enumerate(blocks):
            events.append(_event("content_block_start", {"index": index, "content_block": start}))
            events.extend(_event("content_block_delta", {"index": index, "delta": d}) for d in deltas)
            events.append(_event("content_block_stop", {"index": index}))
        if reply.stream_error_after_events is not None:
            error = {"error": {"type": "overloaded_error", "message": "Overloaded"}}
            return [*events[: reply.stream_error_after_events], _event("error", error)]
        final = {"stop_reason": self._stop_reason(reply), "stop_sequence": None}
        events.append(_event("message_delta", {"delta": final, "usage": {"output_tokens": usage["output_tokens"]}}))
        events.append(_event("message_stop", {}))
        return events


def _tool_id() -> str:
    return "toolu_" + secrets.token_hex(12)


def main() -> None:
    serve_main(AnthropicUpstream(), "Fake Anthropic Messages API upstream", "ANTHROPIC_API_KEY")


if __name__ == "__main__":
    main()
