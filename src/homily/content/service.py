"""`ContentService`: publishers' items for the API, the CLI and grounded completions (access rules included)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from homily.content.embedding import EmbeddingRunner
from homily.content.ingestion import IngestionWorker, embedding_text
from homily.errors import ForbiddenError, InvalidRequestError, NotFoundError
from homily.grounding.embedder import FloatMatrix
from homily.grounding.fusion import RetrievalParams
from homily.grounding.index import HEADING_SEPARATOR, SearchHit
from homily.grounding.index_protocol import ChunkIndexProtocol
from homily.grounding.parsers import SUPPORTED_EXTENSIONS, extension_of, is_supported
from homily.storage.base import AlreadyExistsError, Publisher, Store
from homily.storage.content import ContentStore, DuplicateContentError, Item, ItemMetadata, NewItem

log = logging.getLogger("homily.content")

DEFAULT_PUBLISHER_NAME = "default"


@dataclass(frozen=True, slots=True)
class UploadedFile:
    filename: str
    data: bytes


@dataclass(frozen=True, slots=True)
class UploadOutcome:
    ingesting: list[str]
    duplicates: list[str]
    duplicate_of: dict[str, str]


@dataclass(frozen=True, slots=True)
class RetrievedPassage:
    """A search hit with its (live) item: deleted items never appear, whatever the index still held."""

    hit: SearchHit
    item: Item
    publisher: Publisher


@dataclass(frozen=True, slots=True)
class DeleteOutcome:
    item_id: str
    deleted: bool
    error: ForbiddenError | NotFoundError | None = None


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_item_id() -> str:
    return str(uuid.uuid4())


class ContentService:
    """Access-checked operations on items.

    Invariants: a caller reads its own organisation's publishers and shared ones, and writes only its own
    (403 otherwise, 404 for what does not exist at all); content is committed durably before a 2xx is returned
    and the ingestion worker is woken; a deleted item is removed from the chunk index before the call returns, so
    it is gone from retrieval at once.
    """

    def __init__(
        self,
        store: Store,
        content: ContentStore,
        index: ChunkIndexProtocol,
        embedder: EmbeddingRunner,
        worker: IngestionWorker | None,
    ) -> None:
        self.store = store
        self.content = content
        self.index = index
        self.embedder = embedder
        self.worker = worker

    # -- publishers --------------------------------------------------------------------------------

    async def publisher_by_id(self, org_id: str, publisher_id: str, *, write: bool = False) -> Publisher:
        publisher = await self.store.get_publisher(publisher_id)
        if publisher is None:
            raise NotFoundError(f"No publisher with id {publisher_id!r}.", param="publisher_id")
        self._check_access(org_id, publisher, write=write)
        return publisher

    async def publisher_by_name(self, org_id: str, name: str, *, param: str = "rag_publisher") -> Publisher:
        """The caller's own publisher of that name, else the shared one; 403 when only another
        organisation has one of that name, 404 when none exists."""
        publisher = await self.store.find_publisher(org_id, name)
        if publisher is not None:
            return publisher
        publishers = await self.store.list_publishers()
        if any(p.name == name for p in publishers):
            raise ForbiddenError(f"The publisher {name!r} belongs to another organisation.", param=param)
        readable = sorted(p.name for p in publishers if p.org_id == org_id or p.shared)
        similar = [other for other in readable if other.casefold() == name.casefold()]
        if similar:
            raise NotFoundError(f"No publisher named {name!r}; names are case-sensitive: {similar[0]!r}?", param=param)
        yours = f" (yours and shared ones: {', '.join(map(repr, readable))})" if 0 < len(readable) <= 10 else ""
        raise NotFoundError(
            f"No publisher named {name!r}{yours}. An administrator creates publishers: "
            "`homily admin publisher create --org ORG_ID NAME` or POST /admin/v1/publishers.",
            param=param,
        )

    async def default_publisher(self, org_id: str) -> Publisher:
        """The organisation's publisher named `default`, created on first use (real-time uploads without one)."""
        found = await self.store.find_publisher(org_id, DEFAULT_PUBLISHER_NAME)
        if found is not None and found.org_id == org_id:
            return found
        try:
            return await self.store.create_publisher(org_id, DEFAULT_PUBLISHER_NAME)
        except AlreadyExistsError:
            found = await self.store.find_publisher(org_id, DEFAULT_PUBLISHER_NAME)
            assert found is not None
            return found

    @staticmethod
    def _check_access(org_id: str, publisher: Publisher, *, write: bool) -> None:
        if publisher.org_id == org_id:
            return
        if publisher.shared and not write:
            return
        if publisher.shared:
            raise ForbiddenError(f"The shared publisher {publisher.name!r} is read-only.", param="publisher_id")
        raise ForbiddenError("This publisher belongs to another organisation.", param="publisher_id")

    async def item_for(self, org_id: str, item_id: str, *, write: bool = False) -> tuple[Item, Publisher]:
        item = await self.content.get_item(item_id)
        if item is None:
            raise NotFoundError(f"No item with id {item_id!r}.", param="item_id")
        publisher = await self.store.get_publisher(item.publisher_id)
        if publisher is None:
            raise NotFoundError(f"No item with id {item_id!r}.", param="item_id")
        self._check_access(org_id, publisher, write=write)
        return item, publisher

    # -- uploads -----------------------------------------------------------------------------------

    @staticmethod
    def check_supported(filename: str) -> None:
        if not is_supported(filename):
            raise InvalidRequestError(
                f"Unsupported file type {extension_of(filename) or '(none)'} for {filename!r}; supported: "
                + ", ".join(SUPPORTED_EXTENSIONS),
                param="files",
            )

    async def upload(
        self,
        publisher: Publisher,
        files: Sequence[UploadedFile],
        *,
        producer_id: str | None = None,
        metadata: ItemMetadata | None = None,
    ) -> UploadOutcome:
        """Store each file as a QUEUED item (identical content in the publisher is reported as a duplicate)."""
        for file in files:
            self.check_supported(file.filename)
        ingesting: list[str] = []
        duplicates: list[str] = []
        duplicate_of: dict[str, str] = {}
        for file in files:
            item = NewItem(
                item_id=new_item_id(),
                publisher_id=publisher.publisher_id,
                org_id=publisher.org_id,
                filename=file.filename,
                type=extension_of(file.filename).lstrip("."),
                content_hash=content_digest(file.data),
                data=file.data,
                producer_id=producer_id,
                metadata=metadata or ItemMetadata(),
            )
            try:
                await self.content.add_item(item)
            except DuplicateContentError as exc:
                duplicates.append(file.filename)
                duplicate_of[file.filename] = exc.existing_item_id
                continue
            ingesting.append(item.item_id)
        if ingesting:
            self.wake_worker()
        return UploadOutcome(ingesting, duplicates, duplicate_of)

    async def replace(self, org_id: str, publisher: Publisher, item_id: str, file: UploadedFile) -> UploadOutcome:
        """`update=<item_id>`: new content for an existing item of this publisher, ingested again."""
        self.check_supported(file.filename)
        item, _ = await self.item_for(org_id, item_id, write=True)
        if item.publisher_id != publisher.publisher_id:
            raise InvalidRequestError(
                f"Item {item_id!r} is not in publisher {publisher.publisher_id!r}.", param="update"
            )
        digest = content_digest(file.data)
        if digest == item.content_hash:
            return UploadOutcome([], [file.filename], {file.filename: item_id})
        try:
            await self.content.replace_content(
                item_id, file.data, digest, file.filename, extension_of(file.filename).lstrip(".")
            )
        except DuplicateContentError as exc:
            return UploadOutcome([], [file.filename], {file.filename: exc.existing_item_id})
        except KeyError as exc:
            raise NotFoundError(f"No item with id {item_id!r}.", param="update") from exc
        self.wake_worker()
        return UploadOutcome([item_id], [], {})

    def wake_worker(self) -> None:
        if self.worker is not None:
            self.worker.notify()

    # -- items -------------------------------------------------------------------------------------

    async def update_item(self, item: Item, metadata: ItemMetadata) -> Item:
        updated = await self.content.update_metadata(item.item_id, metadata)
        if updated is None:
            raise NotFoundError(f"No item with id {item.item_id!r}.", param="item_id")
        if metadata.title is not None or metadata.tradition is not None:
            await asyncio.to_thread(
                self.index.update_item, item.item_id, title=metadata.title, tradition=metadata.tradition
            )
        return updated

    async def delete(self, org_id: str, item_ids: Sequence[str]) -> list[DeleteOutcome]:
        outcomes: dict[str, DeleteOutcome] = {}
        allowed: list[str] = []
        for item_id in dict.fromkeys(item_ids):
            try:
                await self.item_for(org_id, item_id, write=True)
            except (ForbiddenError, NotFoundError) as exc:
                outcomes[item_id] = DeleteOutcome(item_id, False, exc)
                continue
            allowed.append(item_id)
        if allowed:
            await asyncio.to_thread(self.index.delete_items, allowed)
            deleted = await self.content.delete_items(allowed)
            # A worker may have written chunks between the two calls; its own check removes them, this makes sure.
            await asyncio.to_thread(self.index.delete_items, allowed)
            for item_id in allowed:
                outcomes[item_id] = DeleteOutcome(item_id, item_id in deleted)
        return [outcomes[item_id] for item_id in dict.fromkeys(item_ids)]

    # -- retrieval ---------------------------------------------------------------------------------

    async def retrieve(
        self,
        publisher: Publisher,
        query: str,
        *,
        limit: int,
        tradition: str | None = None,
        query_vector: FloatMatrix | None = None,
    ) -> list[RetrievedPassage]:
        """Hybrid search within the publisher, best first; hits of items deleted meanwhile are dropped."""
        keyword_hits: list[tuple[int, float]] | None = None
        if query_vector is not None:
            vector = query_vector
        else:
            # BM25 needs no vector: run it while the query is embedded (both leave the GIL), then fuse.
            vector, keyword_hits = await asyncio.gather(
                self.embedder.embed_one(query),
                asyncio.to_thread(self.index.keyword_candidates, query, publisher.publisher_id),
            )
        result = await asyncio.to_thread(
            self.index.search,
            query,
            vector,
            publisher.publisher_id,
            limit=limit,
            tradition=tradition,
            keyword_hits=keyword_hits,
        )
        hits = await self._score_unembedded(result.hits, vector)
        items = await self.content.get_items([hit.item_id for hit in hits])
        return [RetrievedPassage(hit, items[hit.item_id], publisher) for hit in hits if hit.item_id in items]

    async def _score_unembedded(self, hits: list[SearchHit], query_vector: FloatMatrix) -> list[SearchHit]:
        """Keyword hits whose chunk has no vector yet (an item still EMBEDDING, e.g. the library in its first
        minutes) carry similarity 0 and would never count as relevant; embed just those passages now so the
        relevance threshold judges them like any other (a hit already relevant for another reason, a Bible reference
        or a quotation it holds, stays relevant)."""
        missing = [position for position, hit in enumerate(hits) if hit.similarity == 0.0]
        if not missing:
            return hits
        texts = [
            embedding_text(hits[p].title, HEADING_SEPARATOR.join(hits[p].heading_path), hits[p].text) for p in missing
        ]
        similarities = (await self.embedder.embed(texts)) @ np.asarray(query_vector, dtype=np.float32).reshape(-1)
        threshold = RetrievalParams().relevance_threshold
        rescored = list(hits)
        for position, similarity in zip(missing, similarities, strict=True):
            value = float(similarity)
            rescored[position] = replace(
                hits[position], similarity=value, relevant=hits[position].relevant or value >= threshold
            )
        return rescored
