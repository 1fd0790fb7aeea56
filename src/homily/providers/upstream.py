"""HTTP plumbing shared by every provider adapter: deadlines, size limits, error mapping.

Every failure leaves this module as a `homily.errors` type (HTTP statuses mapped by `homily.providers.errors`):
an upstream 400/413/422 for the client's request becomes `InvalidRequestError` (the client's fault), HTTP 429
and refused connections `ProviderUnavailableError`, 5xx `UpstreamServerError` (a `ProviderError`), deadlines
`ProviderTimeoutError`, everything else plain `ProviderError`, so the retry and fallback layers decide by type
and fault alone. An upstream `Retry-After` travels in the error's `headers`.
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson

from homily.errors import HomilyError, ProviderError, ProviderTimeoutError
from homily.providers.errors import error_for_status, unreachable
from homily.providers.sse_decoder import OversizedEventError, SSEDecoder, SSEEvent
from homily.providers.timeouts import UpstreamTimeouts

log = logging.getLogger("homily.providers")

DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
"""Far above any real completion (64k output tokens are well under 1 MiB) and small enough to buffer."""
_ERROR_BODY_LIMIT = 64 * 1024
_STREAMED_BODY_BYTES = 1024 * 1024
_DRAIN_LIMIT = 64 * 1024
_DRAIN_SECONDS = 1.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date); None if absent or
    unusable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def google_retry_delay(body: bytes) -> str | None:
    """Whole seconds from a Google error's `RetryInfo` detail (`"retryDelay": "30s"`): Gemini's Retry-After."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        if not isinstance(detail, dict) or not str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            continue
        delay = detail.get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return str(math.ceil(float(delay[:-1])))
            except ValueError:
                return None
    return None


def retry_after_of(error: HomilyError) -> float | None:
    """The upstream's `Retry-After` carried by an error raised in this module, in seconds."""
    return parse_retry_after(error.headers.get("Retry-After"))


class UpstreamClient:
    """Sends JSON to one upstream over a pooled `aiohttp.ClientSession` under the three deadlines.

    Invariant: a response is always either read to its end or closed (never returned half-read to the pool),
    and no read waits longer than its deadline, so failures cannot leak sockets or hang a request.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        provider: str,
        timeouts: UpstreamTimeouts,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.session = session
        self.provider = provider
        self.timeouts = timeouts
        self.max_response_bytes = max_response_bytes
        self._client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeouts.connect, sock_read=None)

    async def post_json(self, url: str, headers: Mapping[str, str], payload: dict[str, Any]) -> Any:
        """POST `payload` and return the decoded JSON answer."""
        body = orjson.dumps(payload)
        response: aiohttp.ClientResponse | None = None
        started = False
        try:
            async with asyncio.timeout(self.timeouts.first_byte):
                response = await self._open(url, headers, body)
                self._check_declared_size(response)
                chunk = await response.content.readany()
            started = True
            raw = await self._read_rest(response, chunk)
        except TimeoutError as exc:
            raise self._timeout_error(exc, started=started) from exc
        except aiohttp.ClientError as exc:
            raise self._connection_error(exc, mid_response=started) from exc
        finally:
            if response is not None:
                response.close()
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ProviderError(f"The {self.provider} upstream sent malformed JSON: {exc}.") from exc

    async def post_sse(
        self,
        url: str,
        headers: Mapping[str, str],
        payload: dict[str, Any],
        terminal: Callable[[SSEEvent], bool] | None = None,
    ) -> AsyncGenerator[SSEEvent, None]:
        """POST `payload` and yield server-sent events as they arrive.

        Raises `ProviderError` when the stream stops inside an event; a stream that ends cleanly but early is
        for the caller to detect, since only it knows the provider's terminal event. After the event for which
        `terminal` is true (yielded like any other) the iteration ends once the body's end is read (briefly
        awaited), so the connection goes back to the pool instead of being dropped.
        """
        body = orjson.dumps(payload)
        decoder = SSEDecoder(self.max_response_bytes)
        response: aiohttp.ClientResponse | None = None
        received_any = False
        try:
            async with asyncio.timeout(self.timeouts.first_byte):
                response = await self._open(url, headers, body)
                chunk = await response.content.readany()
            while chunk:
                received_any = True
                for event in decoder.feed(chunk):
                    yield event
                    if terminal is not None and terminal(event):
                        await self._drain(response)
                        return
                async with asyncio.timeout(self.timeouts.idle):
                    chunk = await response.content.readany()
            if decoder.pending:
                raise ProviderError(f"The {self.provider} upstream stream was cut off inside an event.")
        except TimeoutError as exc:
            raise self._timeout_error(exc, started=received_any) from exc
        except OversizedEventError as exc:
            raise ProviderError(f"The {self.provider} upstream sent an oversized stream event: {exc}.") from exc
        except aiohttp.ClientError as exc:
            raise self._connection_error(exc, mid_response=received_any) from exc
        finally:
            if response is not None:
                response.close()

    async def _drain(self, response: aiohttp.ClientResponse) -> None:
        """Read a finished stream's trailing bytes to its end (bounded in time and size) so it can be reused."""
        left = _DRAIN_LIMIT
        try:
            async with asyncio.timeout(min(self.timeouts.idle, _DRAIN_SECONDS)):
                while left > 0 and (tail := await response.content.readany()):
                    left -= len(tail)
        except (TimeoutError, aiohttp.ClientError):
            log.debug("upstream stream did not end after its terminal event", extra={"provider": self.provider})

    async def _open(self, url: str, headers: Mapping[str, str], body: bytes) -> aiohttp.ClientResponse:
        merged = {"content-type": "application/json", **headers}
        # aiohttp streams a file-like body in chunks; raw bytes over 1 MiB would be written in one go (and it warns).
        data: bytes | io.BytesIO = io.BytesIO(body) if len(body) > _STREAMED_BODY_BYTES else body
        response = await self.session.post(url, data=data, headers=merged, timeout=self._client_timeout)
        if response.status >= 400:
            try:
                raw = await self._read_capped(response, _ERROR_BODY_LIMIT)
            finally:
                response.close()
            retry_after = response.headers.get("Retry-After") or google_retry_delay(raw)
            error = error_for_status(self.provider, response.status, raw, retry_after)
            log.info(
                "upstream error",
                extra={"provider": self.provider, "status": response.status, "error_message": error.message},
            )
            raise error
        return response

    def _check_declared_size(self, response: aiohttp.ClientResponse) -> None:
        declared = response.content_length
        if declared is not None and declared > self.max_response_bytes:
            raise ProviderError(
                f"The {self.provider} upstream response declares {declared} bytes, over the "
                f"{self.max_response_bytes}-byte limit."
            )

    async def _read_rest(self, response: aiohttp.ClientResponse, first_chunk: bytes) -> bytes:
        parts: list[bytes] = []
        size = 0
        chunk = first_chunk
        while chunk:
            size += len(chunk)
            if size > self.max_response_bytes:
                parts.clear()  # not kept alive by the traceback
                raise ProviderError(
                    f"The {self.provider} upstream response exceeded the {self.max_response_bytes}-byte limit."
                )
            parts.append(chunk)
            async with asyncio.timeout(self.timeouts.idle):
                chunk = await response.content.readany()
        return b"".join(parts)

    async def _read_capped(self, response: aiohttp.ClientResponse, limit: int) -> bytes:
        async with asyncio.timeout(self.timeouts.idle):
            return await response.content.read(limit)

    def _timeout_error(self, exc: BaseException, *, started: bool) -> ProviderTimeoutError:
        if isinstance(exc, aiohttp.ServerTimeoutError | aiohttp.ConnectionTimeoutError):
            return ProviderTimeoutError(
                f"Could not connect to the {self.provider} upstream within {self.timeouts.connect:g}s."
            )
        if started:
            return ProviderTimeoutError(
                f"The {self.provider} upstream went silent for more than {self.timeouts.idle:g}s mid-response."
            )
        return ProviderTimeoutError(f"The {self.provider} upstream sent nothing within {self.timeouts.first_byte:g}s.")

    def _connection_error(self, exc: aiohttp.ClientError, *, mid_response: bool) -> HomilyError:
        if mid_response:
            return ProviderError(f"The {self.provider} upstream dropped the connection mid-response: {exc}.")
        return unreachable(self.provider, str(exc))
