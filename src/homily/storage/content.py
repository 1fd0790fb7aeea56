"""The `ContentStore` protocol: items (uploaded documents), their durable raw content and ingestion status.

Chunks and vectors live in the chunks table owned by `homily.grounding.index.ChunkIndex`; this store holds what
an item *is* and how far its ingestion got. Every backend passes `tests/content_store_contract.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class ItemStatus(StrEnum):
    """Ingestion state machine: QUEUED -> CHUNKING -> EMBEDDING -> COMPLETED, or FAILED (with a reason)."""

    QUEUED = "QUEUED"
    CHUNKING = "CHUNKING"
    EMBEDDING = "EMBEDDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


UNFINISHED_STATUSES: frozenset[ItemStatus] = frozenset({ItemStatus.QUEUED, ItemStatus.CHUNKING, ItemStatus.EMBEDDING})


@dataclass(frozen=True, slots=True)
class ItemMetadata:
    """Descriptive fields of an item; None means "not given" (and, in an update, "leave unchanged")."""

    title: str | None = None
    subtitle: str | None = None
    summary: str | None = None
    url: str | None = None
    tags: tuple[str, ...] | None = None
    author: str | None = None
    publication_date: str | None = None
    tradition: str | None = None
    evergreen: bool | None = None


@dataclass(frozen=True, slots=True)
class NewItem:
    """An accepted upload. `content_hash` identifies identical content within a publisher."""

    item_id: str
    publisher_id: str
    org_id: str
    filename: str
    type: str
    content_hash: str
    data: bytes
    producer_id: str | None = None
    metadata: ItemMetadata = field(default_factory=ItemMetadata)


@dataclass(frozen=True, slots=True)
class Item:
    """An item row. Invariant: `generation` grows whenever the content is replaced, so a worker that finishes an
    older generation cannot mark the newer content COMPLETED."""

    item_id: str
    publisher_id: str
    org_id: str
    filename: str
    producer_id: str | None
    metadata: ItemMetadata
    type: str
    content_hash: str
    size_bytes: int
    status: ItemStatus
    failure_reason: str | None
    generation: int
    attempts: int
    chunk_count: int
    created_at: float
    updated_at: float


class DuplicateContentError(Exception):
    """The publisher already holds identical content (`existing_item_id`)."""

    def __init__(self, existing_item_id: str) -> None:
        super().__init__(f"identical content already exists as item {existing_item_id}")
        self.existing_item_id = existing_item_id


class ContentStore(Protocol):
    """Items and ingestion state. Writes are atomic: an item row and its raw content are stored together."""

    async def add_item(
        self, item: NewItem, *, status: ItemStatus = ItemStatus.QUEUED, chunk_count: int = 0, priority: int = 0
    ) -> Item:
        """Store the item with its raw content in one transaction: QUEUED for uploads; EMBEDDING or COMPLETED
        for prebuilt library items whose chunks are already indexed (without or with vectors). Lower `priority`
        items are worked on after higher ones (the background library yields to uploads). Raises
        `DuplicateContentError` when the publisher already holds the same `content_hash` (or the item id)."""
        ...

    async def replace_content(self, item_id: str, data: bytes, content_hash: str, filename: str, type_: str) -> Item:
        """New content for an existing item: back to QUEUED with the next generation.
        Raises `DuplicateContentError` when another item of the publisher holds that content, `KeyError` when
        the item does not exist."""
        ...

    async def get_item(self, item_id: str) -> Item | None: ...
    async def get_items(self, item_ids: list[str]) -> dict[str, Item]: ...
    async def find_by_producer(self, publisher_id: str, producer_id: str) -> Item | None: ...
    async def list_items(self, publisher_id: str) -> list[Item]: ...
    async def get_content(self, item_id: str) -> bytes | None: ...

    async def update_metadata(self, item_id: str, metadata: ItemMetadata) -> Item | None:
        """Overwrite the fields given (not None) and return the new row; None when the item does not exist."""
        ...

    async def fill_metadata(self, item_id: str, metadata: ItemMetadata) -> None:
        """Set only the fields that are still empty (what a parser found in the file)."""
        ...

    async def delete_items(self, item_ids: list[str]) -> set[str]:
        """Delete items with their content; returns the ids that existed."""
        ...

    async def count_unfinished(self) -> int:
        """How many items, of every publisher, are still QUEUED, CHUNKING or EMBEDDING."""
        ...

    async def next_unfinished(self) -> Item | None:
        """The highest-priority, then oldest, item still QUEUED, CHUNKING or EMBEDDING (what a restart must
        resume), or None."""
        ...

    async def claim(
        self, item_id: str, generation: int, *, status: ItemStatus = ItemStatus.CHUNKING, count_attempt: bool = True
    ) -> Item | None:
        """Start (or restart) ingestion: `status` CHUNKING (attempts + 1: parsing is what may crash the process),
        or EMBEDDING to resume embedding chunks already written (attempts unchanged, so pausing the background
        library for uploads never fails it). `count_attempt=False`: a CHUNKING restart after an attempt this
        process saw end without a crash (a database outage), which must not bring the item closer to FAILED.
        None when the item is gone, finished, or its content was replaced."""
        ...

    async def advance(self, item_id: str, generation: int, status: ItemStatus, *, chunk_count: int = 0) -> bool:
        """Move an unfinished item of this generation to `status` (EMBEDDING or COMPLETED). Returns False (and
        changes nothing) when the item is gone, finished or replaced: that is how COMPLETED happens exactly once."""
        ...

    async def fail(self, item_id: str, generation: int, reason: str) -> bool:
        """Mark an unfinished item of this generation FAILED with a reason; False when nothing changed."""
        ...
