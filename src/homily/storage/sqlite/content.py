"""`SqliteContentStore`: the `ContentStore` protocol over the same SQLite file as `SqliteStore`."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from homily.storage.content import DuplicateContentError, Item, ItemMetadata, ItemStatus, NewItem
from homily.storage.sqlite.worker import ResultT, SqliteWorker

_COLUMNS = (
    "item_id, publisher_id, org_id, filename, producer_id, title, subtitle, summary, url, tags, author,"
    " publication_date, tradition, evergreen, type, content_hash, size_bytes, status, failure_reason, generation,"
    " attempts, chunk_count, created_at, updated_at"
)
_SELECT = f"SELECT {_COLUMNS} FROM items"  # noqa: S608 - constant text
_UNFINISHED = "('QUEUED', 'CHUNKING', 'EMBEDDING')"
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


class SqliteContentStore:
    """Items and their raw content in SQLite.

    Invariant (as in `SqliteStore`): one connection, used only on this store's single worker thread, in
    autocommit mode; multi-statement writes use an explicit `BEGIN IMMEDIATE` transaction. The item row and its
    raw bytes are committed together, so an item that exists can always be (re)ingested after a crash.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._worker = SqliteWorker(path, "content")

    async def open(self) -> None:
        await self._worker.open()

    async def close(self) -> None:
        await self._worker.close()

    async def _run(self, work: Callable[[sqlite3.Connection], ResultT]) -> ResultT:
        return await self._worker.run(work)

    # -- writes -----------------------------------------------------------------------------------

    async def add_item(
        self, item: NewItem, *, status: ItemStatus = ItemStatus.QUEUED, chunk_count: int = 0, priority: int = 0
    ) -> Item:
        now = time.time()
        meta = item.metadata

        def insert(db: sqlite3.Connection) -> Item:
            db.execute("BEGIN IMMEDIATE")
            try:
                existing = db.execute(
                    "SELECT item_id FROM items WHERE (publisher_id = ? AND content_hash = ?) OR item_id = ?",
                    (item.publisher_id, item.content_hash, item.item_id),
                ).fetchone()
                if existing is not None:
                    raise DuplicateContentError(str(existing[0]))
                db.execute(
                    f"INSERT INTO items ({_COLUMNS}) VALUES ({', '.join('?' * 24)})",  # noqa: S608
                    (
                        item.item_id,
                        item.publisher_id,
                        item.org_id,
                        item.filename,
                        item.producer_id,
                        *_metadata_values(meta),
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
                    ),
                )
                db.execute("UPDATE items SET priority = ? WHERE item_id = ?", (priority, item.item_id))
                db.execute("INSERT INTO item_contents (item_id, data) VALUES (?, ?)", (item.item_id, item.data))
                row = db.execute(f"{_SELECT} WHERE item_id = ?", (item.item_id,)).fetchone()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return _item(row)

        return await self._run(insert)

    async def replace_content(self, item_id: str, data: bytes, content_hash: str, filename: str, type_: str) -> Item:
        def replace(db: sqlite3.Connection) -> Item:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT publisher_id FROM items WHERE item_id = ?", (item_id,)).fetchone()
                if row is None:
                    raise KeyError(item_id)
                other = db.execute(
                    "SELECT item_id FROM items WHERE publisher_id = ? AND content_hash = ? AND item_id != ?",
                    (row[0], content_hash, item_id),
                ).fetchone()
                if other is not None:
                    raise DuplicateContentError(str(other[0]))
                db.execute(
                    "UPDATE items SET content_hash = ?, size_bytes = ?, filename = ?, type = ?, status = 'QUEUED',"
                    " failure_reason = NULL, generation = generation + 1, attempts = 0, chunk_count = 0,"
                    " updated_at = ? WHERE item_id = ?",
                    (content_hash, len(data), filename, type_, time.time(), item_id),
                )
                db.execute("UPDATE item_contents SET data = ? WHERE item_id = ?", (data, item_id))
                updated = db.execute(f"{_SELECT} WHERE item_id = ?", (item_id,)).fetchone()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return _item(updated)

        return await self._run(replace)

    async def update_metadata(self, item_id: str, metadata: ItemMetadata) -> Item | None:
        changes = _changed_columns(metadata)

        def update(db: sqlite3.Connection) -> Item | None:
            if changes:
                assignments = ", ".join(f"{column} = ?" for column in changes)
                db.execute(
                    f"UPDATE items SET {assignments}, updated_at = ? WHERE item_id = ?",  # noqa: S608
                    (*changes.values(), time.time(), item_id),
                )
            row = db.execute(f"{_SELECT} WHERE item_id = ?", (item_id,)).fetchone()
            return None if row is None else _item(row)

        return await self._run(update)

    async def fill_metadata(self, item_id: str, metadata: ItemMetadata) -> None:
        changes = _changed_columns(metadata)
        if not changes:
            return

        def fill(db: sqlite3.Connection) -> None:
            for column, value in changes.items():
                empty = "(tags IS NULL OR tags = '[]')" if column == "tags" else f"{column} IS NULL"
                db.execute(
                    f"UPDATE items SET {column} = ? WHERE item_id = ? AND {empty}",  # noqa: S608
                    (value, item_id),
                )

        await self._run(fill)

    async def delete_items(self, item_ids: list[str]) -> set[str]:
        def delete(db: sqlite3.Connection) -> set[str]:
            deleted: set[str] = set()
            db.execute("BEGIN IMMEDIATE")
            try:
                for item_id in item_ids:
                    if db.execute("DELETE FROM items WHERE item_id = ?", (item_id,)).rowcount > 0:
                        deleted.add(item_id)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return deleted

        return await self._run(delete)

    async def claim(
        self, item_id: str, generation: int, *, status: ItemStatus = ItemStatus.CHUNKING, count_attempt: bool = True
    ) -> Item | None:
        if status not in (ItemStatus.CHUNKING, ItemStatus.EMBEDDING):
            raise ValueError(f"claim() starts CHUNKING or EMBEDDING, not {status}")
        interrupts = int(status is ItemStatus.CHUNKING and count_attempt)

        def claim(db: sqlite3.Connection) -> Item | None:
            changed = db.execute(
                "UPDATE items SET status = ?, attempts = attempts + ?, updated_at = ?"
                " WHERE item_id = ? AND generation = ? AND status IN ('QUEUED', 'CHUNKING', 'EMBEDDING')",
                (status.value, interrupts, time.time(), item_id, generation),
            ).rowcount
            if not changed:
                return None
            return _item(db.execute(f"{_SELECT} WHERE item_id = ?", (item_id,)).fetchone())

        return await self._run(claim)

    async def advance(self, item_id: str, generation: int, status: ItemStatus, *, chunk_count: int = 0) -> bool:
        if status not in (ItemStatus.EMBEDDING, ItemStatus.COMPLETED):
            raise ValueError(f"advance() moves to EMBEDDING or COMPLETED, not {status}")

        def advance(db: sqlite3.Connection) -> bool:
            return (
                db.execute(
                    "UPDATE items SET status = ?, chunk_count = ?, updated_at = ?"
                    " WHERE item_id = ? AND generation = ? AND status IN ('QUEUED', 'CHUNKING', 'EMBEDDING')",
                    (status.value, chunk_count, time.time(), item_id, generation),
                ).rowcount
                > 0
            )

        return await self._run(advance)

    async def fail(self, item_id: str, generation: int, reason: str) -> bool:
        def fail(db: sqlite3.Connection) -> bool:
            return (
                db.execute(
                    "UPDATE items SET status = 'FAILED', failure_reason = ?, updated_at = ?"
                    " WHERE item_id = ? AND generation = ? AND status IN ('QUEUED', 'CHUNKING', 'EMBEDDING')",
                    (reason[:1000], time.time(), item_id, generation),
                ).rowcount
                > 0
            )

        return await self._run(fail)

    # -- reads ------------------------------------------------------------------------------------

    async def get_item(self, item_id: str) -> Item | None:
        row = await self._run(lambda db: db.execute(f"{_SELECT} WHERE item_id = ?", (item_id,)).fetchone())
        return None if row is None else _item(row)

    async def get_items(self, item_ids: list[str]) -> dict[str, Item]:
        unique = list(dict.fromkeys(item_ids))

        def fetch(db: sqlite3.Connection) -> dict[str, Item]:
            found: dict[str, Item] = {}
            for start in range(0, len(unique), 500):
                part = unique[start : start + 500]
                sql = f"{_SELECT} WHERE item_id IN ({','.join('?' * len(part))})"
                for row in db.execute(sql, part):
                    item = _item(row)
                    found[item.item_id] = item
            return found

        return await self._run(fetch)

    async def find_by_producer(self, publisher_id: str, producer_id: str) -> Item | None:
        sql = f"{_SELECT} WHERE publisher_id = ? AND producer_id = ? ORDER BY created_at LIMIT 1"
        row = await self._run(lambda db: db.execute(sql, (publisher_id, producer_id)).fetchone())
        return None if row is None else _item(row)

    async def list_items(self, publisher_id: str) -> list[Item]:
        sql = f"{_SELECT} WHERE publisher_id = ? ORDER BY created_at, item_id"
        rows = await self._run(lambda db: db.execute(sql, (publisher_id,)).fetchall())
        return [_item(row) for row in rows]

    async def get_content(self, item_id: str) -> bytes | None:
        sql = "SELECT data FROM item_contents WHERE item_id = ?"
        row = await self._run(lambda db: db.execute(sql, (item_id,)).fetchone())
        return None if row is None else bytes(row[0])

    async def count_unfinished(self) -> int:
        sql = f"SELECT COUNT(*) FROM items WHERE status IN {_UNFINISHED}"  # noqa: S608 - constant text
        row = await self._run(lambda db: db.execute(sql).fetchone())
        return int(row[0])

    async def next_unfinished(self) -> Item | None:
        sql = f"{_SELECT} WHERE status IN {_UNFINISHED} ORDER BY priority DESC, created_at, item_id LIMIT 1"
        row = await self._run(lambda db: db.execute(sql).fetchone())
        return None if row is None else _item(row)


def _metadata_values(meta: ItemMetadata) -> tuple[Any, ...]:
    return (
        meta.title,
        meta.subtitle,
        meta.summary,
        meta.url,
        json.dumps(list(meta.tags or ())),
        meta.author,
        meta.publication_date,
        meta.tradition,
        None if meta.evergreen is None else int(meta.evergreen),
    )


def _changed_columns(meta: ItemMetadata) -> dict[str, Any]:
    values = dict(zip(_METADATA_COLUMNS, _metadata_values(meta), strict=True))
    if meta.tags is None:
        values["tags"] = None
    return {column: value for column, value in values.items() if value is not None}


def _item(row: tuple[Any, ...]) -> Item:
    (
        item_id,
        publisher_id,
        org_id,
        filename,
        producer_id,
        title,
        subtitle,
        summary,
        url,
        tags,
        author,
        publication_date,
        tradition,
        evergreen,
        type_,
        content_hash,
        size_bytes,
        status,
        failure_reason,
        generation,
        attempts,
        chunk_count,
        created_at,
        updated_at,
    ) = row
    metadata = ItemMetadata(
        title=title,
        subtitle=subtitle,
        summary=summary,
        url=url,
        tags=tuple(json.loads(tags or "[]")),
        author=author,
        publication_date=publication_date,
        tradition=tradition,
        evergreen=None if evergreen is None else bool(evergreen),
    )
    return Item(
        item_id=str(item_id),
        publisher_id=str(publisher_id),
        org_id=str(org_id),
        filename=str(filename),
        producer_id=producer_id,
        metadata=metadata,
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
