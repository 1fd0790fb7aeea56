"""Content endpoints (API.md section 4): uploads, items, search. Thin: parse, call `ContentService`, render."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, cast

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from homily.api.deps import authenticate, read_body, services
from homily.api.responses import json_response
from homily.content.service import ContentService, UploadedFile, UploadOutcome
from homily.errors import InternalError, InvalidRequestError, NotFoundError, PayloadTooLargeError
from homily.protocol.content import (
    DeleteItemsRequest,
    PatchItemRequest,
    RealTimeUploadRequest,
    SearchRequest,
    item_json,
    item_summary_json,
)
from homily.protocol.validation import decode_json_object, parse_model

_STREAM_PIECE = 64 * 1024
_JSON_OVERHEAD = 64 * 1024
_TYPE_EXTENSIONS = {"text": ".txt", "txt": ".txt", "markdown": ".md", "md": ".md", "html": ".html", "json": ".json"}


def content_routes() -> list[Route]:
    return [
        Route("/ingestion/v2/files", upload_files, methods=["POST"]),
        Route("/ingestion/v1/real_time_upload", real_time_upload, methods=["POST"]),
        Route("/engine/v2/publisher/{publisher_id}/items", list_items, methods=["GET"]),
        Route("/engine/v2/items/{item_id}", get_item, methods=["GET"]),
        Route("/engine/v2/item", patch_item, methods=["PATCH"]),
        Route("/engine/v2/items", delete_items, methods=["DELETE"]),
        Route("/ai/data/v1/search", search, methods=["POST"]),
    ]


def content_service(request: Request) -> ContentService:
    found = cast(ContentService | None, getattr(request.app.state, "content", None))
    if found is None:
        raise InternalError("Content storage is not available on this server.")
    return found


async def _pieces(body: bytes) -> AsyncGenerator[bytes, None]:
    for start in range(0, len(body), _STREAM_PIECE):
        yield body[start : start + _STREAM_PIECE]
    yield b""


async def _multipart(request: Request, limit: int, max_files: int) -> tuple[dict[str, str], list[UploadedFile]]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequestError("Send multipart/form-data with publisher_id and one or more files.", param="files")
    body = await read_body(request, limit)
    parser = MultiPartParser(request.headers, _pieces(body), max_files=max_files, max_fields=20)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidRequestError(f"Malformed multipart body: {exc.message}", param="files") from exc
    fields: dict[str, str] = {}
    files: list[UploadedFile] = []
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key in ("files", "file"):
                    files.append(UploadedFile(_clean_filename(value.filename), await value.read()))
            else:
                fields[key] = value
    finally:
        await form.close()
    return fields, files


def _clean_filename(name: str | None) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base[:255] or "upload.txt"


def _outcome_json(outcome: UploadOutcome) -> dict[str, Any]:
    parts = []
    if outcome.ingesting:
        parts.append(f"{len(outcome.ingesting)} file(s) accepted for ingestion")
    if outcome.duplicates:
        parts.append(f"{len(outcome.duplicates)} duplicate(s) skipped")
    return {
        "success": True,
        "message": "; ".join(parts) + ".",
        "ingesting": outcome.ingesting,
        "duplicates": outcome.duplicates,
    }


async def upload_files(request: Request) -> Response:
    """200 (not 202) once the files are stored durably, as the platform's clients expect; ingestion runs on."""
    principal = await authenticate(request)
    settings = services(request).settings
    content = content_service(request)
    fields, files = await _multipart(request, settings.max_upload_bytes, settings.max_upload_files)
    publisher_id = fields.get("publisher_id", "").strip()
    if not publisher_id:
        raise InvalidRequestError("publisher_id is required (a form field).", param="publisher_id")
    if not files:
        raise InvalidRequestError("Attach one or more files in the 'files' field.", param="files")
    publisher = await content.publisher_by_id(principal.org_id, publisher_id, write=True)
    producer_id = request.query_params.get("producer_id") or None
    update = request.query_params.get("update") or None
    if (producer_id or update) and len(files) != 1:
        raise InvalidRequestError("producer_id and update apply to single-file uploads.", param="files")
    if update:
        outcome = await content.replace(principal.org_id, publisher, update, files[0])
    else:
        outcome = await content.upload(publisher, files, producer_id=producer_id)
    return json_response(_outcome_json(outcome))


async def real_time_upload(request: Request) -> Response:
    principal = await authenticate(request)
    settings = services(request).settings
    content = content_service(request)
    body = parse_model(
        RealTimeUploadRequest,
        decode_json_object(await read_body(request, settings.max_upload_bytes * 2 + _JSON_OVERHEAD)),
    )
    data = body.content.encode("utf-8")
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLargeError(f"content exceeds the limit of {settings.max_upload_bytes} bytes.")
    if body.publisher_id:
        publisher = await content.publisher_by_id(principal.org_id, body.publisher_id, write=True)
    else:
        publisher = await content.default_publisher(principal.org_id)
    filename = body.filename or _default_filename(body)
    outcome = await content.upload(
        publisher, [UploadedFile(filename, data)], producer_id=body.producer_id, metadata=body.metadata()
    )
    response = _outcome_json(outcome)
    item_id = outcome.ingesting[0] if outcome.ingesting else outcome.duplicate_of[filename]
    response.update({"item_id": item_id, "publisher_id": publisher.publisher_id})
    return json_response(response)


def _default_filename(body: RealTimeUploadRequest) -> str:
    extension = _TYPE_EXTENSIONS.get((body.type or "").lower().lstrip("."), ".txt")
    stem = "".join(c if c.isalnum() or c in "-_ " else "_" for c in (body.item_title or "content"))[:100].strip()
    return (stem or "content") + extension


async def list_items(request: Request) -> Response:
    principal = await authenticate(request)
    content = content_service(request)
    publisher = await content.publisher_by_id(principal.org_id, request.path_params["publisher_id"])
    items = await content.content.list_items(publisher.publisher_id)
    return json_response([item_summary_json(item) for item in items])


async def get_item(request: Request) -> Response:
    principal = await authenticate(request)
    item, publisher = await content_service(request).item_for(principal.org_id, request.path_params["item_id"])
    return json_response(item_json(item, publisher))


async def patch_item(request: Request) -> Response:
    principal = await authenticate(request)
    content = content_service(request)
    body = parse_model(PatchItemRequest, decode_json_object(await read_body(request, 1024 * 1024)))
    publisher = await content.publisher_by_id(principal.org_id, body.publisher_id, write=True)
    if body.item_id:
        item, _ = await content.item_for(principal.org_id, body.item_id, write=True)
        if item.publisher_id != publisher.publisher_id:
            raise NotFoundError(f"No item {body.item_id!r} in this publisher.", param="item_id")
    elif body.producer_id:
        found = await content.content.find_by_producer(publisher.publisher_id, body.producer_id)
        if found is None:
            raise NotFoundError(
                f"No item with producer_id {body.producer_id!r} in this publisher.", param="producer_id"
            )
        item = found
    else:
        raise InvalidRequestError("Give item_id or producer_id to name the item to change.", param="item_id")
    updated = await content.update_item(item, body.metadata())
    return json_response(item_json(updated, publisher))


async def delete_items(request: Request) -> Response:
    principal = await authenticate(request)
    content = content_service(request)
    body = parse_model(DeleteItemsRequest, decode_json_object(await read_body(request, 1024 * 1024)))
    outcomes = await content.delete(principal.org_id, body.item_ids)
    results: list[dict[str, Any]] = []
    for outcome in outcomes:
        entry: dict[str, Any] = {"item_id": outcome.item_id, "deleted": outcome.deleted}
        if outcome.error is not None:
            entry["error"] = {"code": outcome.error.code, "name": outcome.error.name, "message": outcome.error.message}
        results.append(entry)
    deleted = sum(outcome.deleted for outcome in outcomes)
    return json_response(
        {"success": deleted == len(outcomes), "deleted": deleted, "failed": len(outcomes) - deleted, "results": results}
    )


CERTAINTY_OVERFETCH = 4
MAX_SEARCH_FETCH = 200


async def search(request: Request) -> Response:
    principal = await authenticate(request)
    content = content_service(request)
    body = parse_model(SearchRequest, decode_json_object(await read_body(request, 1024 * 1024)))
    publisher = await content.publisher_by_name(principal.org_id, body.tenant, param="tenant")
    # A certainty floor drops passages after ranking: fetch more, so that up to `limit` qualifying ones remain.
    fetch = body.limit if body.certainty is None else min(body.limit * CERTAINTY_OVERFETCH, MAX_SEARCH_FETCH)
    passages = await content.retrieve(publisher, body.query, limit=fetch, tradition=body.tradition)
    data: list[dict[str, Any]] = []
    for passage in passages:
        if len(data) == body.limit:
            break
        certainty = round((1.0 + passage.hit.similarity) / 2.0, 4)
        if body.certainty is not None and certainty < body.certainty:
            continue
        meta = passage.item.metadata
        data.append(
            {
                "rank": len(data) + 1,
                "item_id": passage.item.item_id,
                "chunk_id": passage.hit.chunk_id,
                "item_title": meta.title or passage.hit.title,
                "item_subtitle": meta.subtitle,
                "item_url": meta.url,
                "author": meta.author,
                "publication_date": meta.publication_date,
                "tradition": meta.tradition or passage.hit.tradition,
                "publisher": publisher.name,
                "filename": passage.item.filename,
                "heading": " > ".join(passage.hit.heading_path),
                "snippet": passage.hit.text,
                "score": round(passage.hit.score, 4),
                "certainty": certainty,
                "relevant": passage.hit.relevant,
            }
        )
    return json_response({"query": body.query, "tenant": publisher.name, "data": data})
