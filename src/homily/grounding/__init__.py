"""Grounding: parse uploads, chunk them, embed and index the chunks, and retrieve them for grounded answers.

- `parsers.parse_document(filename, data)` -> `document.ParsedDocument` (txt, md, html, pdf, docx, json, jsonl)
- `chunking.chunk_document(document)` -> chunks following headings, paragraphs and verses, with offsets
- `index.ChunkIndex`: hybrid retrieval (SQLite FTS5 BM25 + in-process dense scan), fused by `fusion.fuse`
- `pg_index.PostgresChunkIndex`: the same on PostgreSQL (tsvector + pgvector) for replicas sharing one index;
  `index_protocol.ChunkIndexProtocol` is what callers need from either
- `pipeline`: the ingestion steps as functions; `library`: GlooGrounded, the shipped default library
- `evaluation`: BEIR metrics behind `homily eval retrieval`
"""
