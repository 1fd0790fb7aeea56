"""`PostgresContentStore`: the `ContentStore` protocol on PostgreSQL, one item queue shared by every replica."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from psycopg import errors as pg_errors

from homily.storage.base import ReferenceNotFoundError
from homily.storage.content import DuplicateContentError, Item, ItemMetadata, ItemStatus, NewItem
from homily.storage.postgres.deadline import BATCH_SECONDS, transfer_seconds
from homily.storage.postgres.leases import (
    DEFAULT_LEASE_SECONDS,
    DEFAULT_RENEW_SECONDS,
    DROP_LEASE,
    LEASE_IS_OURS_OR_FREE,
    TAKE_LEASE,
    UNFINISHED,
    LeaseKeeper,
)
from homily.storage.postgres.migrations import MIGRATIONS, open_migrated
from homily.storage.postgres.pool import Connection, PostgresPool, Row
from homily.storage.sqlite.migrations import Migration, check_migrations

_COLUMNS = (
    "item_id, publisher_id, org_id, filename, producer_id, title, subtitle, summary, url, tags, author,"
    " publication_date, tradition, evergreen, type, content_hash, size_bytes, status, failure_reason, generation,"
    " attempts, chunk_count, created_at, updated_at"
)
_SELECT = f"SELECT {_COLUMNS} FROM items"  # noqa: S608 - constant text
_METADATA_COLUMNS = (
    "title",
    "subtitle",
    "summary",
    "url",
    "tags",
    "author",
    "publication_date",
    "tradition",
    "evergreen",
)
_INSERT = (
    f"INSERT INTO items ({_COLUMNS}, priority) VALUES ({', '.join(['%s'] * 25)})"  # noqa: S608 - constant text
    f" ON CONFLICT DO NOTHING RETURNING {_COLUMNS}"
)
_CONDITIONAL = f"item_id = %(item_id)s AND generation = %(generation)s AND {UNFINISHED} AND {LEASE_IS_OURS_OR_FREE}"
"""Which item a status change may touch: this generation, unfinished, and not leased by another live replica."""
# Status changes (constant text; every value is a parameter). Parsing is what may crash the process, so only a
# CHUNKING claim counts as an attempt (`interrupts`).
_CLAIM = (
    "UPDATE items SET status = %(status)s, attempts = attempts + %(interrupts)s, updated_at = %(now)s,"  # noqa: S608
    f" {TAKE_LEASE} WHERE {_CONDITIONAL} RETURNING {_COLUMNS}"
)
_ADVANCE = "UPDATE items SET status = %(status)s, chunk_count = %(chunk_count)s, updated_at = %(now)s"
_ADVANCE_KEEPING_LEASE = f"{_ADVANCE}, {TAKE_LEASE} WHERE {_CONDITIONAL}"
_ADVANCE_TO_THE_END = f"{_ADVANCE}, {DROP_LEASE} WHERE {_CONDITIONAL}"
_FAIL = (
    "UPDATE items SET status = 'FAILED', failure_reason = %(reason)s, updated_at = %(now)s,"  # noqa: S608
    f" {DROP_LEASE} WHERE {_CONDITIONAL}"
)
_REPLACE = (
    "UPDATE items SET content_hash = %s, size_bytes = %s, filename = %s, type = %s, status = 'QUEUED',"  # noqa: S608
    " failure_reason = NULL, generation = generation + 1, attempts = 0, chunk_count = 0, updated_at = %s,"
    f" {DROP_LEASE} WHERE item_id = %s RETURNING {_COLUMNS}"
)


class PostgresContentStore:
    """Items and their raw content in PostgreSQL.

    Invariants: an item row and its raw bytes are written in one transaction, so an item that exists can always be
    (re)ingested by any replica. Duplicate content per publisher is refused by a unique index (concurrent uploads
    of the same file to two replicas yield one item and one `DuplicateContentError`). Every status change is a
    single conditional UPDATE (generation, unfinished, lease; see `homily.storage.postgres.leases`), so two replicas
    never work on one item at once and an item reaches COMPLETED or FAILED exactly once.
    """

    def __init__(
        self,
        url: str,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        renew_seconds: float | None = DEFAULT_RENEW_SECONDS,
        migrations: Sequence[Migration] = MIGRATIONS,
        pool_size: int = 5,
    ) -> None:
        check_migrations(migrations)
        self._migrations = tuple(migrations)
        self._pool = PostgresPool(url, name="content", max_size=pool_size)
        self._leases = LeaseKeeper(self._pool, lease_seconds, renew_seconds)

    @property
    def lease_owner(self) -> str:
        """This instance's lease identity (`host:pid:random`), as stored in `items.lease_owner`."""
        return self._leases.owner

    async def open(self) -> None:
        if self._pool.is_open:
            return
        await open_migrated(self._pool, self._migrations)
        self._leases.start()

    async def close(self) -> None:
        await self._leases.stop()
        await self._pool.close()

    # -- writes -----------------------------------------------------------------------------------

    async def add_item(
        self, item: NewItem, *, status: ItemStatus = ItemStatus.QUEUED, chunk_count: int = 0, priority: int = 0
    ) -> Item:
        now = time.time()
        values = (
            item.item_id,
            item.publisher_id,
            item.org_id,
            item.filename,
            item.producer_id,
            *_metadata_values(item.metadata),
            item.type,
            item.content_hash,
            len(item.data),
            status.value,
            None,
            1,
            0,
            chunk_count,
            now,
            now,
            priority,
        )
        async with self._pool.connection(budget=transfer_seconds(len(item.data))) as connection:
            for _ in range(3):  # a conflicting row deleted between the INSERT and the SELECT: try again
                try:
                    async with connection.transaction():
                        cursor = await connection.execute(_INSERT, values)
                        row = await cursor.fetchone()
                        if row is not None:
                            await connection.execute(
                                "INSERT INTO item_contents (item_id, data) VALUES (%s, %s)", (item.item_id, item.data)
                            )
                            return _item(row)
                except pg_errors.ForeignKeyViolation as exc:
                    raise ReferenceNotFoundError(f"no publisher {item.publisher_id!r}") from exc
                existing = await _first(
                    connection,
                    "SELECT item_id FROM items WHERE (publisher_id = %s AND content_hash = %s) OR item_id = %s"
                    " ORDER BY item_id = %s DESC LIMIT 1",
                    (item.publisher_id, item.content_hash, item.item_id, item.item_id),
                )
                if existing is not None:
                    raise DuplicateContentError(str(existing))
        raise DuplicateContentError(item.item_id)

    async def replace_content(self, item_id: str, data: bytes, content_hash: str, filename: str, type_: str) -> Item:
        publisher_id: str | None = None
        row: Row | None = None
        async with self._pool.connection(budget=transfer_seconds(len(data))) as connection:
            try:
                async with connection.transaction():
                    publisher_id = await _first(
                        connection, "SELECT publisher_id FROM items WHERE item_id = %s FOR UPDATE", (item_id,)
                    )
                    if publisher_id is None:
                        raise KeyError(item_id)
                    cursor = await connection.execute(
                        _REPLACE, (content_hash, len(data), filename, type_, time.time(), item_id)
                    )
                    row = await cursor.fetchone()
                    await connection.execute("UPDATE item_contents SET data = %s WHERE item_id = %s", (data, item_id))
            except pg_errors.UniqueViolation:
                other = await _first(
                    connection,
                    "SELECT item_id FROM items WHERE publisher_id = %s AND content_hash = %s AND item_id <> %s",
                    (publisher_id, content_hash, item_id),
                )
                raise DuplicateContentError(str(other)) from None
        assert row is not None  # the row is locked FOR UPDATE above
        return _item(row)

    async def update_metadata(self, item_id: str, metadata: ItemMetadata) -> Item | None:
        changes = _changed_columns(metadata)
        if not changes:
            return await self.get_item(item_id)
        assignments = ", ".join(f"{column} = %s" for column in changes)
        row = await self._pool.fetch_one(
            f"UPDATE items SET {assignments}, updated_at = %s WHERE item_id = %s RETURNING {_COLUMNS}",  # noqa: S608
            (*changes.values(), time.time(), item_id),
        )
        return None if row is None else _item(row)

    async def fill_metadata(self, item_id: str, metadata: ItemMetadata) -> None:
        changes = _changed_columns(metadata)
        if not changes:
            return
        assignments = ", ".join(
            "tags = CASE WHEN cardinality(tags) = 0 THEN %s ELSE tags END"
            if column == "tags"
            else f"{column} = coalesce({column}, %s)"
            for column in changes
        )
        await self._pool.changes(
            f"UPDATE items SET {assignments} WHERE item_id = %s",  # noqa: S608 - constant column names
            (*changes.values(), item_id),
        )

    async def delete_items(self, item_ids: list[str]) -> set[str]:
        rows = await self._pool.fetch_all("DELETE FROM items WHERE item_id = ANY(%s) RETURNING item_id", (item_ids,))
        return {str(row[0]) for row in rows}

    async def claim(
        self, item_id: str, generation: int, *, status: ItemStatus = ItemStatus.CHUNKING, count_attempt: bool = True
    ) -> Item | None:
        if status not in (ItemStatus.CHUNKING, ItemStatus.EMBEDDING):
            raise ValueError(f"claim() starts CHUNKING or EMBEDDING, not {status}")
        interrupts = int(status is ItemStatus.CHUNKING and count_attempt)
        row = await self._pool.fetch_one(
            _CLAIM, self._params(item_id, generation, status=status.value, interrupts=interrupts)
        )
        return None if row is None else _item(row)

    async def advance(self, item_id: str, generation: int, status: ItemStatus, *, chunk_count: int = 0) -> bool:
        if status not in (ItemStatus.EMBEDDING, ItemStatus.COMPLETED):
            raise ValueError(f"advance() moves to EMBEDDING or COMPLETED, not {status}")
        changed = await self._pool.changes(
            _ADVANCE_TO_THE_END if status is ItemStatus.COMPLETED else _ADVANCE_KEEPING_LEASE,
            self._params(item_id, generation, status=status.value, chunk_count=chunk_count),
        )
        return changed > 0

    async def fail(self, item_id: str, generation: int, reason: str) -> bool:
        changed = await self._pool.changes(_FAIL, self._params(item_id, generation, reason=reason[:1000]))
        return changed > 0

    def _params(self, item_id: str, generation: int, **values: object) -> dict[str, object]:
        return {**self._leases.params(), "item_id": item_id, "generation": generation, "now": time.time(), **values}

    # -- reads ------------------------------------------------------------------------------------

    async def get_item(self, item_id: str) -> Item | None:
        row = await self._pool.fetch_one(f"{_SELECT} WHERE item_id = %s", (item_id,))
        return None if row is None else _item(row)

    async def get_items(self, item_ids: list[str]) -> dict[str, Item]:
        rows = await self._pool.fetch_all(f"{_SELECT} WHERE item_id = ANY(%s)", (list(set(item_ids)),))
        return {item.item_id: item for item in map(_item, rows)}

    async def find_by_producer(self, publisher_id: str, producer_id: str) -> Item | None:
        row = await self._pool.fetch_one(
            f"{_SELECT} WHERE publisher_id = %s AND producer_id = %s ORDER BY created_at LIMIT 1",
            (publisher_id, producer_id),
        )
        return None if row is None else _item(row)

    async def list_items(self, publisher_id: str) -> list[Item]:
        rows = await self._pool.fetch_all(
            f"{_SELECT} WHERE publisher_id = %s ORDER BY created_at, item_id", (publisher_id,)
        )
        return [_item(row) for row in rows]

    async def get_content(self, item_id: str) -> bytes | None:
        row = await self._pool.fetch_one(
            "SELECT data FROM item_contents WHERE item_id = %s", (item_id,), budget=BATCH_SECONDS
        )
        return None if row is None else bytes(row[0])

    async def count_unfinished(self) -> int:
        row = await self._pool.fetch_one(f"SELECT count(*) FROM items WHERE {UNFINISHED}")  # noqa: S608
        return 0 if row is None else int(row[0])

    async def next_unfinished(self) -> Item | None:
        """The highest-priority, then oldest, unfinished item that no other live replica holds a lease on."""
        row = await self._pool.fetch_one(
            f"{_SELECT} WHERE {UNFINISHED} AND {LEASE_IS_OURS_OR_FREE}"
            " ORDER BY priority DESC, created_at, item_id LIMIT 1",
            self._leases.params(),
        )
        return None if row is None else _item(row)


async def _first(connection: Connection, sql: str, params: Sequence[object]) -> Any:
    """The first column of the first row, or None."""
    cursor = await connection.execute(sql, params)
    row = await cursor.fetchone()
    return None if row is None else row[0]


def _metadata_values(meta: ItemMetadata) -> tuple[Any, ...]:
    return (
        meta.title,
        meta.subtitle,
        meta.summary,
        meta.url,
        list(meta.tags or ()),
        meta.author,
        meta.publication_date,
        meta.tradition,
        meta.evergreen,
    )


def _changed_columns(meta: ItemMetadata) -> dict[str, Any]:
    values = dict(zip(_METADATA_COLUMNS, _metadata_values(meta), strict=True))
    if meta.tags is None:
        values["tags"] = None
    return {column: value for column, value in values.items() if value is not None}


def _item(row: Row) -> Item:
    (item_id, publisher_id, org_id, filename, producer_id, *meta, type_, content_hash, size_bytes, status,
     failure_reason, generation, attempts, chunk_count, created_at, updated_at) = row  # fmt: skip
    title, subtitle, summary, url, tags, author, publication_date, tradition, evergreen = meta
    return Item(
        item_id=str(item_id),
        publisher_id=str(publisher_id),
        org_id=str(org_id),
        filename=str(filename),
        producer_id=producer_id,
        metadata=ItemMetadata(
            title=title,
            subtitle=subtitle,
            summary=summary,
            url=url,
            tags=tuple(tags or ()),
            author=author,
            publication_date=publication_date,
            tradition=tradition,
            evergreen=evergreen,
        ),
        type=str(type_),
        content_hash=str(content_hash),
        size_bytes=int(size_bytes),
        status=ItemStatus(str(status)),
        failure_reason=failure_reason,
        generation=int(generation),
        attempts=int(attempts),
        chunk_count=int(chunk_count),
        created_at=float(created_at),
        updated_at=float(updated_at),
    )
