"""The query embeddings of a request's user turns, remembered for the conversation's next request.

The guard screens the latest user turn and a few earlier ones. Without an embedding an earlier turn gets only the
lexical classifier, which stops far more ordinary turns ("No", "Great", a thumbs-up) than the full one, and does so
on every later request of the conversation. In a chat, though, each earlier turn was the latest turn of a previous
request, so its embedding was already computed: a small cache keyed by the turn's text serves it again, and the
turns it misses (a conversation that started on another replica, or history a client wrote) are embedded together
with the latest turn, as one batch on the embedding thread.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from homily.routing.decision import QueryEmbedding

DEFAULT_CAPACITY = 4096
"""Turns remembered (a 384-float vector and a 16-byte key each: about 6.5 MB when full)."""


class QueryEmbedder(Protocol):
    """Embeds one query off the event loop (e.g. `homily.embeddings.BatchingEmbedder`, which batches concurrent
    calls into one model call)."""

    async def embed_one(self, text: str) -> QueryEmbedding: ...


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class TurnEmbedder:
    """`embed(latest, earlier)`: the latest turn's vector and one per earlier turn, in order.

    The latest turn is always embedded (its cost is the request's, cached or not, so that a repeated prompt costs what
    a new one does) and then remembered; earlier turns come from the cache when they can and are otherwise embedded
    concurrently with the latest. Invariant: at most `capacity` vectors are held (least recently used evicted first);
    a vector is stored only after the embedder returned it, so a failure caches nothing and reaches the caller as the
    embedder raised it.
    """

    def __init__(self, embedder: QueryEmbedder, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._embedder = embedder
        self._capacity = capacity
        self._vectors: OrderedDict[bytes, QueryEmbedding] = OrderedDict()

    async def embed(self, latest: str, earlier: Sequence[str] = ()) -> tuple[QueryEmbedding, list[QueryEmbedding]]:
        latest_key = _key(latest)
        earlier_keys = [_key(text) for text in earlier]
        known: dict[bytes, QueryEmbedding] = {}
        wanted = {latest_key: latest}
        for key, text in zip(earlier_keys, earlier, strict=True):
            if key in wanted or key in known:
                continue
            if (vector := self._vectors.get(key)) is not None:
                self._vectors.move_to_end(key)
                known[key] = vector
            else:
                wanted[key] = text
        if len(wanted) == 1:  # the usual case: no task per text, so the query reaches the embedder at once
            vectors = [await self._embedder.embed_one(latest)]
        else:
            vectors = await asyncio.gather(*(self._embedder.embed_one(text) for text in wanted.values()))
        for key, vector in zip(wanted, vectors, strict=True):
            known[key] = vector
            self._remember(key, vector)
        return known[latest_key], [known[key] for key in earlier_keys]

    def _remember(self, key: bytes, vector: QueryEmbedding) -> None:
        self._vectors[key] = vector
        self._vectors.move_to_end(key)
        while len(self._vectors) > self._capacity:
            self._vectors.popitem(last=False)
