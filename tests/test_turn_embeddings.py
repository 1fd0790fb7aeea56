"""`TurnEmbedder`: the latest turn is always embedded and remembered; earlier turns come from the cache or are
embedded alongside it."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from homily.routing.decision import QueryEmbedding
from homily.service.turn_embeddings import TurnEmbedder


class CountingEmbedder:
    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[str] = []
        self.fail_on = fail_on

    async def embed_one(self, text: str) -> QueryEmbedding:
        self.calls.append(text)
        if text == self.fail_on:
            raise RuntimeError("the model failed")
        return np.full(4, float(len(text)), dtype=np.float32)


def test_earlier_turns_come_from_the_previous_requests_of_the_conversation() -> None:
    embedder = CountingEmbedder()
    turns = TurnEmbedder(embedder)

    async def conversation() -> None:
        latest, earlier = await turns.embed("Hello")
        assert earlier == []
        assert latest[0] == 5.0
        latest, earlier = await turns.embed("Tell me about Ruth", ["Hello"])
        assert earlier[0][0] == 5.0
        latest, earlier = await turns.embed("Thanks", ["Tell me about Ruth", "Hello", "a turn from elsewhere"])
        assert [vector[0] for vector in earlier] == [18.0, 5.0, 21.0]

    asyncio.run(conversation())
    assert embedder.calls == ["Hello", "Tell me about Ruth", "Thanks", "a turn from elsewhere"]


def test_the_latest_turn_is_embedded_even_when_remembered() -> None:
    embedder = CountingEmbedder()
    turns = TurnEmbedder(embedder)
    asyncio.run(turns.embed("Amen"))
    asyncio.run(turns.embed("Amen", ["Amen"]))
    assert embedder.calls == ["Amen", "Amen"]


def test_the_least_recently_used_turn_is_forgotten_first() -> None:
    embedder = CountingEmbedder()
    turns = TurnEmbedder(embedder, capacity=2)
    for text in ("one", "two", "three"):
        asyncio.run(turns.embed(text))
    embedder.calls.clear()
    asyncio.run(turns.embed("four", ["three", "two", "one"]))
    assert embedder.calls == ["four", "one"]


def test_a_failure_reaches_the_caller_and_caches_nothing() -> None:
    embedder = CountingEmbedder(fail_on="bad")
    turns = TurnEmbedder(embedder)
    with pytest.raises(RuntimeError, match="the model failed"):
        asyncio.run(turns.embed("bad", ["fine"]))
    embedder.fail_on = None
    embedder.calls.clear()
    asyncio.run(turns.embed("next", ["fine", "bad"]))
    assert sorted(embedder.calls) == ["bad", "fine", "next"]


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        TurnEmbedder(CountingEmbedder(), capacity=0)
