"""Ingestion pipeline throughput vs the bare embedding model on the same chunks.

Documents: books of the World English Bible (public domain) as markdown. "bare" embeds exactly the chunk texts
the pipeline embeds, in the pipeline's batch size, with the same model; "pipeline" is the production path:
store the upload durably, then the `IngestionWorker` (parse, chunk, write chunks + FTS5, embed, store vectors,
status machine) until every item is COMPLETED. Run: `python bench/content_ingestion.py [--books N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))
sys.path.insert(0, str(REPO_ROOT))

from tests.support.content import bible_chapters  # noqa: E402

from homily.content.embedding import EmbeddingRunner  # noqa: E402
from homily.content.ingestion import EMBED_BATCH, IngestionWorker, UnembeddedChunks, open_chunk_index  # noqa: E402
from homily.content.service import ContentService, UploadedFile  # noqa: E402
from homily.embeddings import load_local_embedder  # noqa: E402
from homily.grounding.embedder import TextEmbedder  # noqa: E402
from homily.grounding.pipeline import prepare  # noqa: E402
from homily.storage.content import ItemStatus  # noqa: E402
from homily.storage.sqlite import SqliteStore  # noqa: E402
from homily.storage.sqlite.content import SqliteContentStore  # noqa: E402

BOOKS = ("Ruth", "Jonah", "Esther", "Joel", "Amos", "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai", "Malachi")


def documents(count: int) -> list[UploadedFile]:
    return [
        UploadedFile(f"{book.lower()}.md", f"# {book}\n\n{bible_chapters(book, range(1, 20))}".encode())
        for book in BOOKS[:count]
    ]


def bare(embedder: TextEmbedder, files: list[UploadedFile]) -> tuple[int, float]:
    texts = [text for file in files for text in prepare(file.filename, file.data).embedding_texts()]
    started = time.perf_counter()
    for start in range(0, len(texts), EMBED_BATCH):
        embedder.embed(texts[start : start + EMBED_BATCH])
    return len(texts), time.perf_counter() - started


async def pipeline(embedder: TextEmbedder, files: list[UploadedFile]) -> tuple[int, float]:
    path = Path(tempfile.mkdtemp(prefix="homily-bench-ingest-")) / "homily.db"
    store = SqliteStore(path)
    await store.open()
    content = SqliteContentStore(path)
    await content.open()
    index = await asyncio.to_thread(open_chunk_index, path)
    unembedded = UnembeddedChunks(path)
    runner = EmbeddingRunner(lambda: embedder)
    await runner.ready()
    worker = IngestionWorker(content, index, runner, unembedded)
    service = ContentService(store, content, index, runner, worker)
    organisation = await store.create_organisation("bench")
    publisher = await store.create_publisher(organisation.org_id, "bench")
    try:
        started = time.perf_counter()
        outcome = await service.upload(publisher, files)
        worker.start()
        await worker.wait_idle()
        elapsed = time.perf_counter() - started
        items = await content.get_items(outcome.ingesting)
        assert all(item.status is ItemStatus.COMPLETED for item in items.values())
        return sum(item.chunk_count for item in items.values()), elapsed
    finally:
        await worker.stop()
        await runner.close()
        await asyncio.to_thread(index.close)
        unembedded.close()
        await content.close()
        await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--books", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2, help="alternate bare/pipeline rounds (noise control)")
    args = parser.parse_args()
    embedder = load_local_embedder()
    files = documents(args.books)
    embedder.embed(["warm up"] * 8)
    rounds = []
    for _ in range(args.rounds):
        chunks, bare_seconds = bare(embedder, files)
        piped_chunks, pipeline_seconds = asyncio.run(pipeline(embedder, files))
        assert piped_chunks == chunks
        rounds.append(
            {
                "chunks": chunks,
                "bare_chunks_per_s": round(chunks / bare_seconds, 1),
                "pipeline_chunks_per_s": round(chunks / pipeline_seconds, 1),
                "ratio": round(bare_seconds / pipeline_seconds, 3),
            }
        )
    sys.stdout.write(json.dumps({"embedder": embedder.model_name, "rounds": rounds}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
