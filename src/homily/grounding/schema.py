"""DDL of the chunks table and its FTS5 keyword index (no imports, so storage migrations can use it).

`chunks` is the source of truth for chunk text and vectors (float32 little-endian BLOB, NULL until embedded);
`chunks_fts` is an external-content FTS5 index kept in step by triggers in the same transaction. `scope` holds
one token per publisher so keyword search is scoped inside the inverted index. No foreign key to `items`:
chunks are deleted through `ChunkIndex.delete_items` (any deletion reaches the dense indexes through the log).

`chunk_changes` (`CHANGE_LOG_SCHEMA`) is a change log filled by triggers, so every writer (the server, the CLI, any
other process) records which rows gained, lost or changed a vector or publisher without code of its own; an
in-process dense index replays the entries newer than the last it applied. It keeps the newest
`CHANGE_LOG_KEEP` entries; an index that fell further behind reloads from the table.
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

CHANGE_LOG_KEEP = 50_000
"""Change-log entries kept (pruned 1,024 at a time); an index more than this many changes behind reloads."""

CHANGE_LOG_SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS chunk_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        chunk_rowid INTEGER NOT NULL,
        publisher_id TEXT NOT NULL
    )""",
    """CREATE TRIGGER IF NOT EXISTS chunk_changes_insert AFTER INSERT ON chunks BEGIN
        INSERT INTO chunk_changes(chunk_rowid, publisher_id) VALUES (new.rowid, new.publisher_id);
    END""",
    """CREATE TRIGGER IF NOT EXISTS chunk_changes_delete AFTER DELETE ON chunks BEGIN
        INSERT INTO chunk_changes(chunk_rowid, publisher_id) VALUES (old.rowid, old.publisher_id);
    END""",
    # The old publisher is logged: the new one is read from the row itself when the change is applied.
    """CREATE TRIGGER IF NOT EXISTS chunk_changes_update AFTER UPDATE OF vector, publisher_id ON chunks BEGIN
        INSERT INTO chunk_changes(chunk_rowid, publisher_id) VALUES (old.rowid, old.publisher_id);
    END""",
    # A database keeps the bound it was created with (IF NOT EXISTS): changing CHANGE_LOG_KEEP needs a migration.
    f"""CREATE TRIGGER IF NOT EXISTS chunk_changes_prune AFTER INSERT ON chunk_changes
    WHEN new.seq % 1024 = 0 BEGIN
        DELETE FROM chunk_changes WHERE seq <= new.seq - {CHANGE_LOG_KEEP};
    END""",  # noqa: S608 (a constant of ours, no input)
)
"""DDL of the chunk change log (storage migration 5 applies the same statements)."""
