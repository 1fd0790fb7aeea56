"""An `Embedder` calling an OpenAI-compatible `/v1/embeddings` endpoint (blocking: use a worker thread)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

import numpy as np

from homily.embeddings.protocol import Vectors
from homily.errors import ProviderError, ProviderTimeoutError, ProviderUnavailableError

MAX_INPUTS_PER_REQUEST = 256


class OpenAICompatibleEmbedder:
    """Embeds texts through a remote OpenAI-compatible embeddings API.

    Invariant: like every `Embedder`, returns (len(texts), dimension) float32 rows in input order with unit
    L2 norm. Remote vectors are re-normalised here because not every server returns unit vectors, and rows
    are placed by the response's `index` field, not by arrival order. Requests carry at most 256 inputs. A
    response whose vectors are not `dimension` long is an error: mixed dimensions would corrupt an index.
    Empty strings are sent as a single space (OpenAI rejects empty input).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        model_name: str,
        dimension: int,
        *,
        timeout: float = 30.0,
        max_inputs_per_request: int = MAX_INPUTS_PER_REQUEST,
        send_dimensions: bool = False,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"embeddings base URL must be http(s): {base_url!r}")
        self.model_name = model_name
        self.dimension = dimension
        self._url = base_url.rstrip("/") + "/embeddings"
        self._api_key = api_key
        self._timeout = timeout
        self._max_inputs = max(1, min(max_inputs_per_request, MAX_INPUTS_PER_REQUEST))
        self._send_dimensions = send_dimensions

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self._max_inputs):
            chunk = [text or " " for text in texts[start : start + self._max_inputs]]
            out[start : start + len(chunk)] = self._request(chunk)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.maximum(norms, np.float32(1e-12))
        return out

    def _request(self, inputs: list[str]) -> Vectors:
        payload: dict[str, Any] = {"model": self.model_name, "input": inputs, "encoding_format": "float"}
        if self._send_dimensions:
            payload["dimensions"] = self.dimension
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self._url, data=json.dumps(payload).encode("utf-8"), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                body: Any = json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read(2000).decode("utf-8", "replace")
            raise ProviderError(f"embeddings endpoint {self._url} answered {error.code}: {detail}") from error
        except TimeoutError as error:
            raise ProviderTimeoutError(f"embeddings endpoint {self._url} timed out") from error
        except urllib.error.URLError as error:
            raise ProviderUnavailableError(f"embeddings endpoint {self._url} unreachable: {error.reason}") from error
        except ValueError as error:
            raise ProviderError(f"embeddings endpoint {self._url} returned invalid JSON") from error
        return self._parse(body, len(inputs))

    def _parse(self, body: Any, count: int) -> Vectors:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or len(data) != count:
            raise ProviderError(f"embeddings endpoint {self._url} returned {count} inputs' worth of malformed data")
        rows = np.empty((count, self.dimension), dtype=np.float32)
        seen: set[int] = set()
        for position, item in enumerate(data):
            index = item.get("index", position) if isinstance(item, dict) else None
            vector = item.get("embedding") if isinstance(item, dict) else None
            if not isinstance(index, int) or not 0 <= index < count or index in seen:
                raise ProviderError(f"embeddings endpoint {self._url} returned a bad index {index!r}")
            if not isinstance(vector, list) or len(vector) != self.dimension:
                got = len(vector) if isinstance(vector, list) else type(vector).__name__
                raise ProviderError(f"embeddings endpoint {self._url} returned {got} floats, expected {self.dimension}")
            seen.add(index)
            rows[index] = np.asarray(vector, dtype=np.float32)
        return rows
