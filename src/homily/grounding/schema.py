"""DDL of the chunks table and its FTS5 keyword index (no imports, so storage migrations can use it).

`chunks` is the source of truth for chunk text and vectors (float32 little-endian BLOB, NULL until embedded);
`chunks_fts` is an external-content FTS5 index kept in step by triggers in the same transaction. `scope` holds
one token per publisher so keyword search is scoped inside the inverted index. No foreign key to `items`:
chunks must be deleted through `ChunkIndex.delete_items` so the in-process dense index forgets them too.
"""

from __future__ import annotations

CHUNK_SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS chunks (
        rowid INTEGER PRIMARY KEY,
        chunk_id TEXT NOT NULL UNIQUE,
        item_id TEXT NOT NULL,
        publisher_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        title TEXT NOT NULL,
        heading TEXT NOT NULL,
        text TEXT NOT NULL,
        char_start INTEGER NOT NULL,
        char_end INTEGER NOT NULL,
        token_count INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        tradition TEXT,
        vector BLOB
    )""",
    "CREATE INDEX IF NOT EXISTS chunks_by_item ON chunks(item_id, ordinal)",
    "CREATE INDEX IF NOT EXISTS chunks_by_publisher ON chunks(publisher_id)",
    """CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
        scope, title, heading, text, content='chunks', content_rowid='rowid',
        tokenize='porter unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts(rowid, scope, title, heading, text)
        VALUES (new.rowid, new.scope, new.title, new.heading, new.text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts(chunks_fts, rowid, scope, title, heading, text)
        VALUES ('delete', old.rowid, old.scope, old.title, old.heading, old.text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS chunks_fts_update
    AFTER UPDATE OF scope, title, heading, text ON chunks BEGIN
        INSERT INTO chunks_fts(chunks_fts, rowid, scope, title, heading, text)
        VALUES ('delete', old.rowid, old.scope, old.title, old.heading, old.text);
        INSERT INTO chunks_fts(rowid, scope, title, heading, text)
        VALUES (new.rowid, new.scope, new.title, new.heading, new.text);
    END""",
)
"""DDL of the chunks table and its keyword index; the storage migrations apply the same statements."""
