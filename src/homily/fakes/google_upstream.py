"""A fake Gemini API (`generateContent`, `streamGenerateContent?alt=sse`), scriptable with `Reply`s.

Run standalone: `python -m homily.fakes.google_upstream --port 8102` (answers by echoing the last user turn).
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from aiohttp import web

from homily.fakes.script import Reply, split_text
from homily.fakes.server import FakeUpstream, serve_main

_FINISH = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "tool_calls": "STOP",
    "content_filter": "SAFETY",
    "malformed_call": "MALFORMED_FUNCTION_CALL",
}
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_MODES = {"AUTO", "ANY", "NONE", "VALIDATED"}
_BAD_KEY = "API key not valid. Please pass a valid API key."


def _chunk(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\r\n\r\n"


def _last_user_text(body: Any) -> str:
    for content in reversed(body.get("contents", [])):
        texts = [p["text"] for p in content.get("parts", []) if isinstance(p.get("text"), str)]
        if content.get("role") == "user" and texts:
            return "\n".join(texts)
    return ""


class GoogleUpstream(FakeUpstream):
    """Fake Gemini upstream. Validates what the real API validates (API key, roles, function-response pairing
    and names, tool-config modes, the temperature range) and answers with `GenerateContentResponse` objects.
    """

    provider = "google"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1beta/models/{method}", self._generate)]

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        _, _, verb = method.partition(":")
        if verb == "streamGenerateContent":
            return await self.respond(request, stream=True)
        if verb == "generateContent":
            return await self.respond(request, stream=False)
        return self.json_error(404, f"Method {verb!r} not found")

    def scripted_error(self, reply: Reply) -> web.Response:
        """Like the real API, a retry hint travels as a `RetryInfo` detail in the body, not as a header."""
        body = self.error_body(reply.status, reply.error_message)
        if reply.retry_after:
            body["error"]["details"] = [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{reply.retry_after}s"}
            ]
        return web.Response(status=reply.status, body=orjson.dumps(body), content_type="application/json")

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        error: dict[str, Any] = {"code": status, "message": message, "status": _STATUS.get(status, "UNKNOWN")}
        if message == _BAD_KEY:  # like the real API: a 400 INVALID_ARGUMENT that only its ErrorInfo tells apart
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                }
            ]
        return {"error": error}

    def check_request(self, request: web.Request, body: Any) -> tuple[int, str] | None:
        if request.headers.get("x-goog-api-key") != self.api_key:
            return 400, _BAD_KEY
        if request.match_info["method"].endswith(":streamGenerateContent") and request.query.get("alt") != "sse":
            return 400, "this fake only streams with alt=sse"
        if not isinstance(body, dict) or not isinstance(body.get("contents"), list) or not body["contents"]:
            return 400, "contents is not specified"
        temperature = body.get("generationConfig", {}).get("temperature")
        if temperature is not None and not 0 <= temperature <= 2:
            return 400, "generation_config.temperature must be in [0, 2]"
        return self._check_tools(body) or self._check_contents(body["contents"])

    def _check_tools(self, body: dict[str, Any]) -> tuple[int, str] | None:
        names: set[str] = set()
        for tool in body.get("tools", []):
            for declaration in tool.get("functionDeclarations", []):
                names.add(declaration.get("name"))
                parameters = declaration.get("parameters")
                if parameters is not None and parameters.get("type") == "object" and not parameters.get("properties"):
                    return 400, "parameters.properties: should be non-empty for OBJECT type"
        config = body.get("toolConfig", {}).get("functionCallingConfig")
        if config is not None:
            if config.get("mode") not in _MODES:
                return 400, "function_calling_config.mode: invalid value"
            allowed = config.get("allowedFunctionNames")
            if allowed is not None and (config["mode"] != "ANY" or not set(allowed) <= names):
                return 400, "allowed_function_names requires mode ANY and declared functions"
        return None

    def _check_contents(self, contents: list[dict[str, Any]]) -> tuple[int, str] | None:
        previous_calls: list[str] = []
        for index, content in enumerate(contents):
            role, parts = content.get("role"), content.get("parts")
            if role not in {"user", "model"}:
                return 400, f"contents[{index}].role: Please use a valid role: user, model."
            if not isinstance(parts, list) or not parts:
                return 400, f"contents[{index}].parts: must not be empty"
            responses = [p["functionResponse"] for p in parts if "functionResponse" in p]
            if responses or previous_calls:
                answered = [r.get("name") for r in responses]
                if role != "user" or sorted(answered) != sorted(previous_calls):
                    return 400, (
                        "Please ensure that the number of function response parts is equal to the number of "
                        "function call parts of the function call turn."
                    )
                if not all(isinstance(r.get("response"), dict) for r in responses):
                    return 400, "function_response.response must be an object"
            previous_calls = [p["functionCall"]["name"] for p in parts if "functionCall" in p]
            if previous_calls and role != "model":
                return 400, f"contents[{index}]: functionCall parts must come from the model"
        return None

    # ----- rendering -----

    def _usage(self, reply: Reply, *, final: bool) -> dict[str, int]:
        usage = {"promptTokenCount": reply.prompt_tokens}
        if reply.cached_tokens:
            usage["cachedContentTokenCount"] = reply.cached_tokens
        if final:
            usage["candidatesTokenCount"] = reply.completion_tokens - reply.reasoning_tokens
            if reply.reasoning_tokens:
                usage["thoughtsTokenCount"] = reply.reasoning_tokens
            usage["totalTokenCount"] = reply.prompt_tokens + reply.completion_tokens
        else:
            usage["totalTokenCount"] = reply.prompt_tokens
        return usage

    def _response(
        self,
        body: Any,
        parts: list[dict[str, Any]],
        response_id: str,
        *,
        finish: str | None,
        usage: dict[str, int],
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if finish is not None:
            candidate["finishReason"] = finish
        data: dict[str, Any] = {
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": "fake-gemini",
            "responseId": response_id,
        }
        if finish == "SAFETY":
            candidate["safetyRatings"] = [
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
            ]
        return data

    def _call_parts(self, reply: Reply) -> list[dict[str, Any]]:
        return [{"functionCall": {"name": c.name, "args": orjson.loads(c.arguments)}} for c in reply.tool_calls]

    def _finish(self, reply: Reply) -> str:
        return reply.native_finish or _FINISH[reply.resolved_finish]

    def render_body(self, reply: Reply, body: Any) -> dict[str, Any]:
        parts: list[dict[str, Any]] = []
        if reply.thinking:
            parts.append({"text": reply.thinking, "thought": True})
        text = _last_user_text(body) if reply.echo else reply.text
        if text:
            parts.append({"text": text})
        parts.extend(self._call_parts(reply))
        return self._response(
            body,
            parts,
            secrets.token_urlsafe(12),
            finish=self._finish(reply),
            usage=self._usage(reply, final=True),
        )

    def render_events(self, reply: Reply, body: Any) -> list[bytes]:
        response_id = secrets.token_urlsafe(12)
        partial = self._usage(reply, final=False)
        chunks: list[bytes] = []
        if reply.thinking:
            chunks.append(
                _chunk(
                    self._response(
                        body,
                        [{"text": reply.thinking, "thought": True}],
                        response_id,
                        finish=None,
                        usage=partial,
                    )
                )
            )
        text = _last_user_text(body) if reply.echo else reply.text
        pieces = split_text(text or "", reply.chunk_chars)
        calls = self._call_parts(reply)
        chunks.extend(
            _chunk(self._response(body, [{"text": piece}], response_id, finish=None, usage=partial))
            for piece in (pieces if calls else pieces[:-1])
        )
        last_parts = calls if calls else [{"text": pieces[-1]}] if pieces else []
        final = self._response(
            body, last_parts, response_id, finish=self._finish(reply), usage=self._usage(reply, final=True)
        )
        if not last_parts:
            del final["candidates"][0]["content"]["parts"]
        chunks.append(_chunk(final))
        return chunks


def main() -> None:
    serve_main(GoogleUpstream(), "Fake Gemini API upstream", "GEMINI_API_KEY")


if __name__ == "__main__":
    main()
