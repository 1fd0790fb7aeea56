"""DeferredEmbedder: the model loads on a background thread; callers wait for it; a failed load is reported."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from homily.embeddings.deferred import DeferredEmbedder, EmbedderLoadError
from homily.embeddings.protocol import Embedder, Vectors


class _Constant:
    model_name = "constant"
    dimension = 3

    def embed(self, texts: Sequence[str]) -> Vectors:
        return np.tile(np.array([1.0, 0.0, 0.0], dtype=np.float32), (len(texts), 1))


def test_embed_waits_for_the_model_loading_in_the_background() -> None:
    release = threading.Event()

    def load() -> Embedder:
        release.wait(10)
        return _Constant()

    deferred = DeferredEmbedder(load, "constant", 3)
    assert (deferred.model_name, deferred.dimension, deferred.state) == ("constant", 3, "loading")
    results: list[Vectors] = []
    waiter = threading.Thread(target=lambda: results.append(deferred.embed(["a", "b"])))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()  # still waiting for the model
    release.set()
    waiter.join(10)
    assert results[0].shape == (2, 3)
    assert deferred.state == "ready"


def test_a_failed_or_mismatched_load_is_reported_by_state_and_embed() -> None:
    def broken() -> Embedder:
        raise OSError("model files missing")

    failed = DeferredEmbedder(broken, "constant", 3)
    with pytest.raises(EmbedderLoadError, match="failed to load: model files missing") as raised:
        failed.embed(["a"])
    assert isinstance(raised.value.__cause__, OSError)
    assert failed.state == "failed"
    mismatched = DeferredEmbedder(_Constant, "constant", 384)
    with pytest.raises(EmbedderLoadError, match="expected constant"):
        mismatched.wait(10)
    assert mismatched.state == "failed"

