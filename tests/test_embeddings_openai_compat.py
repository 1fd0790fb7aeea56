"""OpenAICompatibleEmbedder against a real loopback HTTP server speaking the `/v1/embeddings` wire format."""

from __future__ import annotations

import json
import socket
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from homily.embeddings import Embedder, OpenAICompatibleEmbedder
from homily.errors import ProviderError, ProviderUnavailableError

DIMENSION = 8


def raw_vector(text: str, dimension: int = DIMENSION) -> list[float]:
    """The fake server's deterministic, deliberately un-normalised vector for a text."""
    rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
    return [float(x) for x in rng.normal(size=dimension) * 7.0]


@dataclass
class FakeEmbeddingsServer:
    """Records what it received; `mode` switches it to misbehave."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    mode: str = "ok"
    url: str = ""


def _handler(state: FakeEmbeddingsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append(payload)
            state.headers.append(dict(self.headers.items()))
            if self.path != "/v1/embeddings":
                self._send(404, b'{"error": {"message": "no such route"}}')
                return
            if state.mode == "error":
                self._send(500, b'{"error": {"message": "upstream exploded"}}')
                return
            if state.mode == "garbage":
                self._send(200, b"<html>not json</html>")
                return
            size = DIMENSION + 1 if state.mode == "wrong_dimension" else DIMENSION
            items = [
                {"object": "embedding", "index": i, "embedding": raw_vector(text, size)}
                for i, text in enumerate(payload["input"])
            ]
            items.reverse()  # servers may answer out of order; `index` is what counts
            body = {"object": "list", "data": items, "model": payload["model"], "usage": {"prompt_tokens": 1}}
            self._send(200, json.dumps(body).encode())

    return Handler


@pytest.fixture
def fake_server() -> Iterator[FakeEmbeddingsServer]:
    state = FakeEmbeddingsServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _embedder(server: FakeEmbeddingsServer, **kwargs: Any) -> OpenAICompatibleEmbedder:
    return OpenAICompatibleEmbedder(server.url, "sk-test", "fake-embed", DIMENSION, **kwargs)


def test_vectors_are_normalised_and_in_input_order(fake_server: FakeEmbeddingsServer) -> None:
    embedder = _embedder(fake_server)
    assert isinstance(embedder, Embedder)
    texts = ["alpha", "beta", "gamma delta", "ünïcödé"]
    vectors = embedder.embed(texts)
    assert vectors.dtype == np.float32
    assert vectors.shape == (4, DIMENSION)
    expected = np.array([raw_vector(t) for t in texts], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert fake_server.requests == [{"model": "fake-embed", "input": texts, "encoding_format": "float"}]
    assert fake_server.headers[0]["Authorization"] == "Bearer sk-test"


def test_large_inputs_are_sent_in_requests_of_at_most_256(fake_server: FakeEmbeddingsServer) -> None:
    texts = [f"text {i}" for i in range(600)]
    vectors = _embedder(fake_server).embed(texts)
    assert [len(r["input"]) for r in fake_server.requests] == [256, 256, 88]
    assert [t for r in fake_server.requests for t in r["input"]] == texts
    np.testing.assert_allclose(
        vectors[599], np.array(raw_vector("text 599")) / np.linalg.norm(raw_vector("text 599")), atol=1e-6
    )


def test_smaller_request_size_and_dimensions_and_no_key(fake_server: FakeEmbeddingsServer) -> None:
    embedder = OpenAICompatibleEmbedder(
        fake_server.url + "/", None, "fake-embed", DIMENSION, max_inputs_per_request=2, send_dimensions=True
    )
    embedder.embed(["a", "", "c"])
    assert [r["input"] for r in fake_server.requests] == [["a", " "], ["c"]]
    assert all(r["dimensions"] == DIMENSION for r in fake_server.requests)
    assert "Authorization" not in fake_server.headers[0]


def test_empty_input_makes_no_request(fake_server: FakeEmbeddingsServer) -> None:
    assert _embedder(fake_server).embed([]).shape == (0, DIMENSION)
    assert fake_server.requests == []


@pytest.mark.parametrize(
    ("mode", "message"),
    [("error", "answered 500"), ("garbage", "invalid JSON"), ("wrong_dimension", "expected 8")],
)
def test_bad_upstream_answers_raise_provider_error(fake_server: FakeEmbeddingsServer, mode: str, message: str) -> None:
    fake_server.mode = mode
    with pytest.raises(ProviderError, match=message):
        _embedder(fake_server).embed(["x"])


def test_unreachable_endpoint_raises_unavailable() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    embedder = OpenAICompatibleEmbedder(f"http://127.0.0.1:{port}/v1", None, "m", DIMENSION, timeout=5)
    with pytest.raises(ProviderUnavailableError):
        embedder.embed(["x"])


def test_rejects_non_http_base_url() -> None:
    with pytest.raises(ValueError, match="http"):
        OpenAICompatibleEmbedder("file:///etc/passwd", None, "m", DIMENSION)
