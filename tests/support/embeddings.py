"""A loopback server speaking OpenAI's `/v1/embeddings` wire format, for the remote-embedder tests."""

from __future__ import annotations

import json
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

Vectorise = Callable[[str, int], list[float]]


def random_vector(text: str, dimension: int) -> list[float]:
    """A deterministic, deliberately un-normalised vector for a text (no meaning)."""
    rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
    return [float(x) for x in rng.normal(size=dimension) * 7.0]


def word_vector(text: str, dimension: int) -> list[float]:
    """Hashed bag of words (words of 3+ letters): texts sharing words get similar vectors, like a real model."""
    vector = [0.0] * dimension
    for word in re.findall(r"[a-z]{3,}", text.lower()):
        vector[zlib.crc32(word.encode()) % dimension] += 1.0
    vector[0] += 0.01  # never all zero
    return vector


@dataclass
class FakeEmbeddingsServer:
    """Records what it received. `mode` makes it misbehave; `fail_next` answers that many requests with 503."""

    dimension: int
    vectorise: Vectorise = random_vector
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    mode: str = "ok"
    fail_next: int = 0
    delay: float = 0.0
    """Seconds each answer takes (to observe concurrent calls in `max_in_flight`)."""
    in_flight: int = 0
    max_in_flight: int = 0
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer_slowly(self, path: str, payload: dict[str, Any]) -> tuple[int, bytes]:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            return self.answer(path, payload)
        finally:
            with self.lock:
                self.in_flight -= 1

    def answer(self, path: str, payload: dict[str, Any]) -> tuple[int, bytes]:
        with self.lock:
            failing = self.fail_next > 0
            self.fail_next -= int(failing)
        if path != "/v1/embeddings":
            return 404, b'{"error": {"message": "no such route"}}'
        if failing:
            return 503, b'{"error": {"message": "overloaded, try again"}}'
        if self.mode == "error":
            return 500, b'{"error": {"message": "upstream exploded"}}'
        if self.mode == "garbage":
            return 200, b"<html>not json</html>"
        size = self.dimension + 1 if self.mode == "wrong_dimension" else self.dimension
        items = [
            {"object": "embedding", "index": i, "embedding": self.vectorise(text, size)}
            for i, text in enumerate(payload["input"])
        ]
        items.reverse()  # servers may answer out of order; `index` is what counts
        body = {"object": "list", "data": items, "model": payload["model"], "usage": {"prompt_tokens": 1}}
        return 200, json.dumps(body).encode()


def _handler(state: FakeEmbeddingsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append(payload)
            state.headers.append(dict(self.headers.items()))
            status, body = state.answer_slowly(self.path, payload)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serve_embeddings(dimension: int, vectorise: Vectorise = random_vector) -> Iterator[FakeEmbeddingsServer]:
    state = FakeEmbeddingsServer(dimension, vectorise)
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
