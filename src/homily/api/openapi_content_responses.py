"""OpenAPI response schemas of the content endpoints (API.md section 4), as `homily.api.content` renders them."""

from __future__ import annotations

from typing import Any, get_args

from homily.protocol.chat import Tradition
from homily.storage.content import ItemStatus

_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_TRADITION = {"enum": [*get_args(Tradition), None]}
STATUSES = [status.value for status in ItemStatus]


def _object(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
    }


UPLOAD = _object(
    {
        "success": {"type": "boolean"},
        "message": _STRING,
        "ingesting": {"type": "array", "items": _STRING, "description": "item ids accepted for ingestion"},
        "duplicates": {"type": "array", "items": _STRING, "description": "file names already in the publisher"},
    }
)

REAL_TIME_UPLOAD = {
    "allOf": [
        {"$ref": "#/components/schemas/UploadResponse"},
        _object({"item_id": _STRING, "publisher_id": _STRING}),
    ]
}

ITEM_SUMMARY = _object(
    {
        "item_id": _STRING,
        "item_title": _NULLABLE_STRING,
        "filename": _STRING,
        "status": {"enum": STATUSES},
        "producer_id": _NULLABLE_STRING,
    }
)

ITEM = _object(
    {
        "item_id": _STRING,
        "publisher_id": _STRING,
        "publisher": _STRING,
        "filename": _STRING,
        "producer_id": _NULLABLE_STRING,
        "type": _STRING,
        "item_title": _NULLABLE_STRING,
        "item_subtitle": _NULLABLE_STRING,
        "item_summary": _NULLABLE_STRING,
        "item_url": _NULLABLE_STRING,
        "item_tags": {"type": "array", "items": _STRING},
        "author": _NULLABLE_STRING,
        "publication_date": {"type": ["string", "null"], "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "tradition": _TRADITION,
        "evergreen": {"type": ["boolean", "null"]},
        "status": {"enum": STATUSES},
        "failure_reason": _NULLABLE_STRING,
        "chunk_count": {"type": "integer", "minimum": 0},
        "size_bytes": {"type": "integer", "minimum": 0},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    }
)

DELETE_ITEMS = _object(
    {
        "success": {"type": "boolean", "description": "true when every item was deleted"},
        "deleted": {"type": "integer", "minimum": 0},
        "failed": {"type": "integer", "minimum": 0},
        "results": {
            "type": "array",
            "items": _object(
                {
                    "item_id": _STRING,
                    "deleted": {"type": "boolean"},
                    "error": _object({"code": {"type": "integer"}, "name": _STRING, "message": _STRING}),
                },
                optional=("error",),
            ),
        },
    }
)

SEARCH_HIT = _object(
    {
        "rank": {"type": "integer", "minimum": 1},
        "item_id": _STRING,
        "chunk_id": _STRING,
        "item_title": _NULLABLE_STRING,
        "item_subtitle": _NULLABLE_STRING,
        "item_url": _NULLABLE_STRING,
        "author": _NULLABLE_STRING,
        "publication_date": _NULLABLE_STRING,
        "tradition": _TRADITION,
        "publisher": _STRING,
        "filename": _STRING,
        "heading": _STRING,
        "snippet": _STRING,
        "score": {"type": "number"},
        "certainty": {"type": "number", "minimum": 0, "maximum": 1},
        "relevant": {"type": "boolean"},
    }
)

SEARCH = _object(
    {
        "query": _STRING,
        "tenant": _STRING,
        "data": {"type": "array", "items": {"$ref": "#/components/schemas/SearchHit"}},
    }
)


def content_response_schemas() -> dict[str, Any]:
    return {
        "UploadResponse": UPLOAD,
        "RealTimeUploadResponse": REAL_TIME_UPLOAD,
        "ItemSummaryList": {"type": "array", "items": ITEM_SUMMARY},
        "Item": ITEM,
        "DeleteItemsResponse": DELETE_ITEMS,
        "SearchHit": SEARCH_HIT,
        "SearchResponse": SEARCH,
    }
