"""GlooGrounded, the shared default publisher, filled on the server's first start (while it already answers) or
by the first `homily search`, whichever comes first.

Two sources, tried in order:
1. the packaged library (`homily.grounding.library`, built by scripts/build_library.py): chunks with precomputed
   vectors, installed by bulk insert in seconds, each item COMPLETED at once;
2. a directory of plain documents (`HOMILY_LIBRARY_DIR` with .txt/.md/.html/.pdf/.docx/.json files and an optional
   `library.json` mapping file names to metadata): queued through the normal ingestion worker and embedded in
   the background.
Both are idempotent: items already present are skipped, so an interrupted start simply continues next time. On
the embedded database installers hold the library lock (`install_lock`): one waits while another installs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from homily.content.embedding_space import LIBRARY_PRIORITY
from homily.content.install_lock import library_lock
from homily.content.service import ContentService, UploadedFile
from homily.grounding.document import map_metadata
from homily.grounding.index import ChunkRecord
from homily.grounding.index_protocol import ChunkIndexProtocol
from homily.grounding.library import (
    LIBRARY_DIR,
    LibraryChunk,
    LibraryItem,
    library_item_ids,
    load_library,
    read_manifest,
)
from homily.grounding.parsers import is_supported
from homily.grounding.pipeline import library_records
from homily.storage.base import AlreadyExistsError, Publisher, Store
from homily.storage.content import ContentStore, DuplicateContentError, ItemMetadata, ItemStatus, NewItem

log = logging.getLogger("homily.library")

SHARED_PUBLISHER_NAME = "GlooGrounded"
SYSTEM_ORGANISATION_NAME = "homily-system"
_PROGRESS_SECONDS = 5.0


async def ensure_shared_publisher(store: Store) -> Publisher:
    """The shared `GlooGrounded` publisher, owned by the system organisation (both created when missing)."""
    organisation = next((o for o in await store.list_organisations() if o.name == SYSTEM_ORGANISATION_NAME), None)
    if organisation is None:
        try:
            organisation = await store.create_organisation(SYSTEM_ORGANISATION_NAME)
        except AlreadyExistsError:
            organisation = next(o for o in await store.list_organisations() if o.name == SYSTEM_ORGANISATION_NAME)
    publisher = await store.find_publisher(organisation.org_id, SHARED_PUBLISHER_NAME)
    if publisher is not None:
        return publisher
    try:
        return await store.create_publisher(organisation.org_id, SHARED_PUBLISHER_NAME, shared=True)
    except AlreadyExistsError:
        found = await store.find_publisher(organisation.org_id, SHARED_PUBLISHER_NAME)
        assert found is not None
        return found


def packaged_library(directory: Path | None, model: str) -> tuple[int, Iterable[LibraryItem]] | None:
    """(item count, items) of a library built by scripts/build_library.py (the packaged one by default), or None
    when the directory holds none. Its shipped vectors are used only when they are `model`'s; otherwise the items
    come text-only, keyword-searchable at once and embedded by the ingestion worker."""
    where = directory or LIBRARY_DIR
    if not (where / "manifest.json").exists():
        return None
    manifest = read_manifest(where)
    return manifest.items, load_library(where, manifest.model, with_vectors=manifest.model == model)


def _reassembled_text(chunks: Sequence[LibraryChunk]) -> str:
    """The item's text rebuilt from its (overlapping) chunks by their offsets: stored as its raw content."""
    parts: list[str] = []
    covered = 0
    for chunk in sorted(chunks, key=lambda c: c.char_start):
        if chunk.char_end <= covered:
            continue
        if chunk.char_start > covered and parts:
            parts.append("\n\n")
        parts.append(chunk.text[max(0, covered - chunk.char_start) :])
        covered = chunk.char_end
    return "".join(parts)


@dataclass(slots=True)
class LibraryProgress:
    total: int
    label: str
    done: int = 0
    started: float = 0.0
    last_report: float = 0.0

    def report(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_report < _PROGRESS_SECONDS:
            return
        self.last_report = now
        percent = 100.0 * self.done / self.total if self.total else 100.0
        log.info(
            "GlooGrounded library: %d/%d items %s (%.0f%%, %.0fs)",
            self.done,
            self.total,
            self.label,
            percent,
            now - self.started,
        )


def _insert_prebuilt(index: ChunkIndexProtocol, publisher_id: str, item: LibraryItem) -> list[ChunkRecord]:
    records = library_records(publisher_id, item)
    index.add(records)
    return records


async def install_prebuilt(
    content: ContentStore,
    index: ChunkIndexProtocol,
    publisher: Publisher,
    items: Iterable[LibraryItem],
    *,
    total: int,
    on_queued: Callable[[], None] | None = None,
    on_item: Callable[[], None] | None = None,
) -> int:
    """Bulk-insert prebuilt items: COMPLETED when they shipped vectors; otherwise keyword-searchable at once and
    EMBEDDING at low priority, so the ingestion worker embeds them in the background after any upload. Chunks
    are written before the item row, so a crash in between leaves only orphan chunks (removed at the next start)
    and the item is installed again. `on_item` is called after each item that was not there yet."""
    existing = {item.item_id for item in await content.list_items(publisher.publisher_id)}
    progress = LibraryProgress(total, "installed", done=len(existing), started=time.monotonic())
    installed = 0
    iterator = iter(items)
    while True:
        item = await asyncio.to_thread(next, iterator, None)
        if item is None:
            break
        if item.item_id in existing:
            continue
        existing.add(item.item_id)  # a library repeating an id must not overwrite the first item's chunks
        await asyncio.to_thread(_insert_prebuilt, index, publisher.publisher_id, item)
        data = _reassembled_text(item.chunks).encode("utf-8")
        new = NewItem(
            item_id=item.item_id,
            publisher_id=publisher.publisher_id,
            org_id=publisher.org_id,
            filename=item.filename,
            type=item.filename.rsplit(".", 1)[-1] if "." in item.filename else "txt",
            content_hash=hashlib.sha256(data).hexdigest(),
            data=data,
            metadata=ItemMetadata(
                title=item.title, author=item.author, tags=tuple(item.tags), tradition=item.tradition
            ),
        )
        embedded = all(chunk.vector is not None for chunk in item.chunks)
        status, priority = (ItemStatus.COMPLETED, 0) if embedded else (ItemStatus.EMBEDDING, LIBRARY_PRIORITY)
        try:
            await content.add_item(new, status=status, chunk_count=len(item.chunks), priority=priority)
        except DuplicateContentError as duplicate:
            # Another replica installed this very item meanwhile: the chunks just written are its rows (same
            # chunk ids), so they stay. Only the chunks of an item refused as a copy of another item go.
            if duplicate.existing_item_id != item.item_id:
                await asyncio.to_thread(index.delete_items, [item.item_id])
            if on_item is not None:
                on_item()
            continue
        if not embedded and on_queued is not None:
            on_queued()
        if on_item is not None:
            on_item()
        installed += 1
        progress.done += 1
        progress.report()
    progress.report(force=True)
    return installed


def document_library(directory: Path) -> list[tuple[UploadedFile, ItemMetadata]]:
    """Supported files of a plain library directory, with metadata from its optional `library.json`."""
    mapping: dict[str, Any] = {}
    manifest = directory / "library.json"
    if manifest.exists():
        mapping = json.loads(manifest.read_text(encoding="utf-8"))
    documents: list[tuple[UploadedFile, ItemMetadata]] = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or not is_supported(path.name) or path.name == "library.json":
            continue
        fields = mapping.get(path.name, {})
        meta = map_metadata(fields) if isinstance(fields, dict) else map_metadata({})
        documents.append(
            (
                UploadedFile(path.name, path.read_bytes()),
                ItemMetadata(
                    title=meta.title,
                    url=meta.url,
                    author=meta.author,
                    tags=meta.tags or None,
                    tradition=meta.tradition,
                    publication_date=meta.publication_date,
                ),
            )
        )
    return documents


async def queue_documents(service: ContentService, publisher: Publisher, directory: Path) -> list[str]:
    """Queue every library document through the ingestion worker (duplicates of earlier starts are skipped);
    returns the ids of the items queued."""
    documents = await asyncio.to_thread(document_library, directory)
    queued: list[str] = []
    for upload, metadata in documents:
        outcome = await service.upload(publisher, [upload], metadata=metadata)
        queued.extend(outcome.ingesting)
    return queued


@dataclass(frozen=True, slots=True)
class LibraryHooks:
    """What an installer wants to hear (the CLI draws a progress bar; the server only logs)."""

    waiting: Callable[[], None] | None = None
    """Another process is installing the library into the same database: this one waits for it first."""
    installing: Callable[[int], None] | None = None
    """This many items of the packaged library are missing and are being installed now."""
    item: Callable[[], None] | None = None
    """One more of them is installed."""


@dataclass(frozen=True, slots=True)
class LibraryOutcome:
    """What there was to install: a built `packaged` library (`installed` items were missing), a `folder` of
    documents (`queued` for ingestion; earlier starts' are duplicates), or `none`."""

    source: Literal["packaged", "folder", "none"]
    installed: int = 0
    queued: tuple[str, ...] = ()


async def fill_shared_library(
    service: ContentService,
    content: ContentStore,
    index: ChunkIndexProtocol,
    library_dir: Path | None,
    model: str,
    *,
    lock_database: Path | None,
    hooks: LibraryHooks = LibraryHooks(),
) -> LibraryOutcome:
    """Create GlooGrounded and install what it lacks of the library (see the module docstring), holding the
    library lock of the SQLite database `lock_database` (None on PostgreSQL; see `install_lock`). Idempotent; quick
    when nothing is missing: a packaged library's item ids are compared with the stored ones first."""
    publisher = await ensure_shared_publisher(service.store)
    async with library_lock(lock_database, hooks.waiting):
        where = library_dir or LIBRARY_DIR
        if await asyncio.to_thread((where / "manifest.json").exists):
            stored = {item.item_id for item in await content.list_items(publisher.publisher_id)}
            missing = await asyncio.to_thread(library_item_ids, where) - stored
            if not missing:
                return LibraryOutcome("packaged")
            if hooks.installing is not None:
                hooks.installing(len(missing))
            prebuilt = await asyncio.to_thread(packaged_library, library_dir, model)
            assert prebuilt is not None
            total, items = prebuilt
            installed = await install_prebuilt(
                content, index, publisher, items, total=total, on_queued=service.wake_worker, on_item=hooks.item
            )
            return LibraryOutcome("packaged", installed=installed)
        if library_dir is None or not await asyncio.to_thread(library_dir.is_dir):
            return LibraryOutcome("none")
        return LibraryOutcome("folder", queued=tuple(await queue_documents(service, publisher, library_dir)))


async def load_shared_library(
    service: ContentService,
    content: ContentStore,
    index: ChunkIndexProtocol,
    library_dir: Path | None,
    model: str,
    *,
    lock_database: Path | None = None,
) -> None:
    """The server's start: `fill_shared_library`, logged. Errors are logged: the server keeps serving."""
    try:
        outcome = await fill_shared_library(service, content, index, library_dir, model, lock_database=lock_database)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("loading the GlooGrounded library failed; the server keeps serving")
        return
    if outcome.source == "packaged":
        # The ingestion worker embeds what has no vectors yet and logs its own progress.
        log.info("GlooGrounded library installed (%d new items); keyword search is ready", outcome.installed)
    elif outcome.source == "folder":
        log.info("GlooGrounded: %d documents queued for ingestion from %s", len(outcome.queued), library_dir)
    else:
        log.info("no GlooGrounded library is packaged; the shared publisher stays empty")
