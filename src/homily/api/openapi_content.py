"""OpenAPI paths and schemas of the grounded and content endpoints (API.md sections 3 and 4)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from homily.api.openapi_content_responses import content_response_schemas
from homily.api.openapi_responses import completion_ok
from homily.grounding.parsers import SUPPORTED_EXTENSIONS
from homily.protocol.content import (
    DeleteItemsRequest,
    GroundedCompletionRequest,
    PatchItemRequest,
    RealTimeUploadRequest,
    SearchRequest,
)

_MODELS: tuple[type[BaseModel], ...] = (
    GroundedCompletionRequest,
    RealTimeUploadRequest,
    PatchItemRequest,
    DeleteItemsRequest,
    SearchRequest,
)


def supported_filename_pattern() -> str:
    """A JSON-Schema pattern for a filename whose extension ingestion parses (case-insensitive by spelling out each
    letter: ECMA-262 patterns take no flags)."""
    spelled = (
        "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in ext[1:]) for ext in SUPPORTED_EXTENSIONS
    )
    return r"\.(" + "|".join(spelled) + ")$"


def content_schemas(ref_template: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in _MODELS:
        schema = model.model_json_schema(ref_template=ref_template)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    schemas["RealTimeUploadRequest"]["properties"]["filename"]["pattern"] = supported_filename_pattern()
    schemas.update(content_response_schemas())
    return schemas


def _json_body(ref_template: str, model: type[BaseModel]) -> dict[str, Any]:
    ref = {"$ref": ref_template.format(model=model.__name__)}
    return {"required": True, "content": {"application/json": {"schema": ref}}}


_MULTIPART = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "publisher_id": {"type": "string", "minLength": 1},
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}, "minItems": 1},
                },
                "required": ["publisher_id", "files"],
            }
        }
    },
}


def _parameter(name: str, where: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": {"type": "string"},
        "description": description,
    }


def content_paths(ref_template: str, errors: dict[str, Any], completion_errors: dict[str, Any]) -> dict[str, Any]:
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]

    def error(description: str) -> dict[str, Any]:
        return {"description": description, "content": errors["400"]["content"]}

    access = {**errors, "403": error("Another organisation's publisher"), "404": error("Unknown publisher or item")}

    def operation(
        summary: str,
        ok: str,
        body: type[BaseModel] | None = None,
        extra_errors: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        success = {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": ref_template.format(model=ok)}}},
        }
        spec: dict[str, Any] = {
            "summary": summary,
            "security": bearer,
            "responses": {"200": success, **access, **(extra_errors or {})},
        }
        if body is not None:
            spec["requestBody"] = _json_body(ref_template, body)
        spec.update(extra)
        return spec

    grounded = operation(
        "Grounded completion: answers from a publisher's content with sources_returned and citations",
        "GroundedChatCompletion",
        GroundedCompletionRequest,
        extra_errors=completion_errors,
    )
    grounded["responses"].update({"200": completion_ok("GroundedChatCompletion", grounded=True), **access})
    grounded["responses"]["403"] = error("Another organisation's publisher, or a model the organisation may not use")
    upload_query = [
        _parameter("producer_id", "query", "The caller's own id for the item (single-file uploads)"),
        _parameter("update", "query", "item_id of an item whose content this file replaces (single-file uploads)"),
    ]
    return {
        "/ai/v2/chat/completions/grounded": {"post": grounded},
        "/ingestion/v2/files": {
            "post": operation(
                "Upload files (txt, md, html, pdf, docx, json, jsonl) for background ingestion",
                "UploadResponse",
                extra_errors={"413": error("Upload over HOMILY_MAX_UPLOAD_BYTES")},
                requestBody=_MULTIPART,
                parameters=upload_query,
            )
        },
        "/ingestion/v1/real_time_upload": {
            "post": operation("Upload text content", "RealTimeUploadResponse", RealTimeUploadRequest)
        },
        "/engine/v2/publisher/{publisher_id}/items": {
            "get": operation(
                "List a publisher's items and statuses",
                "ItemSummaryList",
                parameters=[_parameter("publisher_id", "path", "The publisher's UUID")],
            )
        },
        "/engine/v2/items/{item_id}": {
            "get": operation(
                "An item's metadata and ingestion status",
                "Item",
                parameters=[_parameter("item_id", "path", "The item's id")],
            )
        },
        "/engine/v2/item": {"patch": operation("Change an item's metadata", "Item", PatchItemRequest)},
        "/engine/v2/items": {
            "delete": operation("Delete 1-1000 items (per-item results)", "DeleteItemsResponse", DeleteItemsRequest)
        },
        "/ai/data/v1/search": {"post": operation("Hybrid search in a publisher", "SearchResponse", SearchRequest)},
    }
