"""OpenAICompatibleEmbedder against a real loopback HTTP server speaking the `/v1/embeddings` wire format."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from homily.embeddings import Embedder, OpenAICompatibleEmbedder
from homily.errors import ProviderError, ProviderUnavailableError
from tests.support.embeddings import FakeEmbeddingsServer, random_vector, serve_embeddings

DIMENSION = 8


def raw_vector(text: str) -> list[float]:
    return random_vector(text, DIMENSION)


@pytest.fixture
def fake_server() -> Iterator[FakeEmbeddingsServer]:
    with serve_embeddings(DIMENSION) as server:
        yield server


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
