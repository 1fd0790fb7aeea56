"""`homily ingest PATH... --publisher NAME` and `homily search "..."`, working directly on the data directory.

Both open the same stores the server uses, also while it runs: a running server searches what `ingest` added at
once, by keyword and by meaning (its chunk index follows other processes' writes). `search` installs the shared
library first when it is missing or behind (`homily.cli.library`).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from homily.cli.common import (
    CliError,
    common_options,
    json_option,
    opened_store,
    print_json,
    settings_from_args,
    stderr_console,
    stdout_console,
)
from homily.cli.library import ensure_shared_library, follow_items
from homily.content.backend import open_content_backend
from homily.content.embedding_space import retrieval_embedding_runner, retrieval_space
from homily.content.ingestion import IngestionWorker
from homily.content.library import SHARED_PUBLISHER_NAME, LibraryOutcome, ensure_shared_publisher
from homily.content.service import ContentService, UploadedFile
from homily.errors import HomilyError
from homily.grounding.parsers import SUPPORTED_EXTENSIONS, extension_of, is_supported
from homily.settings import Settings
from homily.storage.base import Publisher, Store
from homily.storage.content import ItemStatus

_TRADITIONS = ("evangelical", "catholic", "mainline", "not_faith_specific")


def add_content_commands(commands: Any) -> None:
    """Register `ingest` and `search` on the top-level subparsers object."""
    common, json_flag = common_options(), json_option()
    ingest = commands.add_parser(
        "ingest",
        parents=[common, json_flag],
        help="ingest files into a publisher (progress bar, summary)",
        description="Parse, chunk and embed files (or every supported file under directories) into a publisher "
        "of an organisation.\nThe publisher is created when it does not exist. Supported: .txt .md .html .pdf "
        ".docx .json .jsonl.\nA running server using the same data directory (or database) searches the new "
        "content at once.",
    )
    ingest.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="files, or directories to search for supported files"
    )
    ingest.add_argument(
        "--publisher",
        required=True,
        metavar="NAME",
        help="publisher name (what grounded requests send as rag_publisher)",
    )
    ingest.add_argument("--org", metavar="ORG_ID", help="owning organisation (default: the 'default' one)")
    ingest.set_defaults(handler=run_ingest)

    search = commands.add_parser(
        "search",
        parents=[common, json_flag],
        help="hybrid search in a publisher",
        description="Search a publisher (default: the shared GlooGrounded library) the way grounded completions "
        "do. The shared library is installed into the data directory first when it is missing or behind (once, "
        "a few seconds; no server needed).",
    )
    search.add_argument("query", help="what to search for, in plain words")
    search.add_argument(
        "--publisher", default=SHARED_PUBLISHER_NAME, metavar="NAME", help="publisher name (default: %(default)s)"
    )
    search.add_argument(
        "--org", metavar="ORG_ID", help="organisation whose publishers to search (default: the 'default' one)"
    )
    search.add_argument("--limit", type=int, default=5, help="passages to show (default: %(default)s)")
    search.add_argument("--tradition", choices=_TRADITIONS, help="rank passages of this tradition higher")
    search.set_defaults(handler=run_search)


@dataclass(slots=True)
class _Runtime:
    service: ContentService
    worker: IngestionWorker


@asynccontextmanager
async def _content_runtime(settings: Settings, *, with_worker: bool) -> AsyncIterator[_Runtime]:
    async with opened_store(settings) as store:
        backend = await open_content_backend(settings, retrieval_space(settings))
        embedder = retrieval_embedding_runner(settings)
        worker = IngestionWorker(
            backend.store, backend.index, embedder, backend.unembedded, poll_seconds=backend.poll_seconds
        )
        if with_worker:
            worker.start()
        try:
            yield _Runtime(ContentService(store, backend.store, backend.index, embedder, worker), worker)
        finally:
            await worker.stop()
            await embedder.close()
            await backend.close()


async def _organisation_id(store: Store, org_id: str | None) -> str:
    organisations = await store.list_organisations()
    if org_id is not None:
        if not any(o.org_id == org_id for o in organisations):
            raise CliError(f"no organisation {org_id!r}; see `homily admin org list`")
        return org_id
    default = next((o for o in organisations if o.name == "default"), None)
    if default is None:
        raise CliError("no 'default' organisation; pass --org ORG_ID (see `homily admin org list`)")
    return default.org_id


async def _publisher(store: Store, org_id: str, name: str, *, create: bool) -> Publisher:
    if name == SHARED_PUBLISHER_NAME:
        return await ensure_shared_publisher(store)
    found = await store.find_publisher(org_id, name)
    if found is not None:
        return found
    if not create:
        raise CliError(
            f"no publisher named {name!r} for organisation {org_id}; pass --org ORG_ID for another organisation's "
            "(`homily admin publisher list` shows every publisher and its organisation)"
        )
    return await store.create_publisher(org_id, name)


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and is_supported(p.name))
        elif path.is_file():
            if not is_supported(path.name):
                raise CliError(
                    f"{path}: unsupported file type {extension_of(path.name) or '(none)'}; supported: "
                    + ", ".join(SUPPORTED_EXTENSIONS)
                )
            found.append(path)
        else:
            raise CliError(f"{path} does not exist")
    return found


def run_ingest(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    files = _files(list(args.paths))
    if not files:
        raise CliError("no supported files found in the given paths")
    summary = asyncio.run(_ingest(settings, files, args.publisher, args.org, quiet=args.json))
    if args.json:
        print_json(summary)
    else:
        _print_summary(summary)
    return 0 if not summary["failed"] else 1


async def _ingest(
    settings: Settings, files: list[Path], publisher_name: str, org_id: str | None, *, quiet: bool
) -> dict[str, Any]:
    started = time.monotonic()
    async with _content_runtime(settings, with_worker=True) as runtime:
        service = runtime.service
        owner = await _organisation_id(service.store, org_id)
        publisher = await _publisher(service.store, owner, publisher_name, create=True)
        accepted: list[str] = []
        duplicates: list[str] = []
        for path in files:
            try:
                outcome = await service.upload(publisher, [UploadedFile(path.name, path.read_bytes())])
            except HomilyError as exc:
                raise CliError(f"{path}: {exc.message}") from exc
            accepted.extend(outcome.ingesting)
            duplicates.extend(outcome.duplicates)
        await follow_items(service, accepted, "ingesting", quiet=quiet)
        items = await service.content.get_items(accepted)
    completed = [item for item in items.values() if item.status is ItemStatus.COMPLETED]
    elapsed = time.monotonic() - started
    chunks = sum(item.chunk_count for item in completed)
    return {
        "publisher": publisher.name,
        "publisher_id": publisher.publisher_id,
        "files": len(files),
        "completed": len(completed),
        "duplicates": duplicates,
        "failed": [
            {"filename": item.filename, "reason": item.failure_reason}
            for item in items.values()
            if item.status is ItemStatus.FAILED
        ],
        "chunks": chunks,
        "seconds": round(elapsed, 1),
        "chunks_per_second": round(chunks / elapsed, 1) if elapsed > 0 else None,
    }


def _print_summary(summary: dict[str, Any]) -> None:
    console = stdout_console()
    console.print(
        f"{summary['completed']}/{summary['files']} files ingested into {summary['publisher']} "
        f"({summary['chunks']} chunks, {summary['seconds']}s, {summary['chunks_per_second']} chunks/s); "
        f"{len(summary['duplicates'])} duplicates skipped, {len(summary['failed'])} failed."
    )
    for failure in summary["failed"]:
        console.print(f"  FAILED {failure['filename']}: {failure['reason']}")


def run_search(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    results, items, library = asyncio.run(_search(settings, args))
    if not results:
        stderr_console().print(_nothing_found(args.publisher, items, library), soft_wrap=True)
    elif not any(row["relevant"] for row in results):
        stderr_console().print(
            "None of these passages is close enough to the query to count as relevant: a grounded answer would "
            "not cite them.",
            soft_wrap=True,
        )
    if args.json:
        print_json(results)
        return 0
    if not results:
        return 0
    table = Table(title=f"{args.publisher}: {args.query}")
    for column in ("#", "score", "sim", "title", "tradition", "passage"):
        table.add_column(column)
    for row in results:
        passage = row["snippet"] if len(row["snippet"]) <= 160 else row["snippet"][:157] + "..."
        table.add_row(
            str(row["rank"]),
            f"{row['score']:.3f}",
            f"{row['similarity']:.3f}",
            row["title"],
            row["tradition"] or "",
            passage,
        )
    stdout_console().print(table)
    return 0


def _nothing_found(publisher: str, items: int, library: LibraryOutcome | None) -> str:
    """Why a search found nothing, and what to do about it."""
    if items:
        return f"No passage of {publisher!r} ({items} items) matches this query."
    if publisher != SHARED_PUBLISHER_NAME:
        return f"{publisher!r} holds no content yet: add some with `homily ingest PATH --publisher {publisher!r}`."
    if library is None:
        return (
            f"{publisher} is empty: HOMILY_LOAD_LIBRARY is false, so the shared library is not installed. Unset it "
            "(or set it to true) and search again."
        )
    if library.source == "none":
        return (
            f"{publisher} is empty: this installation packages no library and HOMILY_LIBRARY_DIR names no folder "
            "of documents. Point HOMILY_LIBRARY_DIR at a library built by scripts/build_library.py or at a folder "
            "of documents."
        )
    return f"{publisher} holds no searchable passage: its library items failed (see `homily serve`'s log)."


async def _search(
    settings: Settings, args: argparse.Namespace
) -> tuple[list[dict[str, Any]], int, LibraryOutcome | None]:
    """The ranked passages, how many items the publisher holds when there are none, and what installing the shared
    library did (None when it was not searched or HOMILY_LOAD_LIBRARY is off)."""
    library: LibraryOutcome | None = None
    async with _content_runtime(settings, with_worker=False) as runtime:
        service = runtime.service
        owner = await _organisation_id(service.store, args.org)
        publisher = await _publisher(service.store, owner, args.publisher, create=False)
        if publisher.name == SHARED_PUBLISHER_NAME:
            library = await ensure_shared_library(settings, service, quiet=args.json)
        passages = await service.retrieve(publisher, args.query, limit=args.limit, tradition=args.tradition)
        items = 0 if passages else len(await service.content.list_items(publisher.publisher_id))
    found = [
        {
            "rank": rank,
            "item_id": passage.item.item_id,
            "title": passage.item.metadata.title or passage.hit.title,
            "tradition": passage.item.metadata.tradition or passage.hit.tradition,
            "heading": " > ".join(passage.hit.heading_path),
            "snippet": passage.hit.text,
            "score": round(passage.hit.score, 4),
            "similarity": round(passage.hit.similarity, 4),
            "relevant": passage.hit.relevant,
        }
        for rank, passage in enumerate(passages, start=1)
    ]
    return found, items, library
