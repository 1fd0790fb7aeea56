"""Wire models of the content API (API.md section 4) and the grounded completion request (section 3)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, field_validator

from homily.protocol.chat import ChatCompletionRequest, Tradition, WireModel
from homily.storage.base import Publisher
from homily.storage.content import Item, ItemMetadata

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

ShortText = Annotated[str, Field(max_length=2000)]
_DATE_SCHEMA = {"format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
"""What `_valid_date` accepts, for the OpenAPI document (the validator stays the judge, with its own message)."""


def _valid_date(value: str | None) -> str | None:
    if value is None:
        return None
    if not _DATE.match(value):
        raise ValueError("publication_date must be YYYY-MM-DD")
    date.fromisoformat(value)
    return value


class ItemFields(WireModel):
    """Metadata fields shared by real-time upload and PATCH."""

    item_title: ShortText | None = None
    item_subtitle: ShortText | None = None
    item_summary: Annotated[str, Field(max_length=20_000)] | None = None
    item_url: ShortText | None = None
    item_tags: list[Annotated[str, Field(max_length=200)]] | str | None = None
    author: ShortText | None = None
    publication_date: Annotated[str | None, Field(json_schema_extra=_DATE_SCHEMA)] = None
    tradition: Tradition | None = None
    evergreen: bool | None = None

    _check_date = field_validator("publication_date")(_valid_date)

    def metadata(self) -> ItemMetadata:
        tags = self.item_tags
        if isinstance(tags, str):
            tags = [part.strip() for part in tags.split(",") if part.strip()]
        return ItemMetadata(
            title=self.item_title,
            subtitle=self.item_subtitle,
            summary=self.item_summary,
            url=self.item_url,
            tags=tuple(tags) if tags is not None else None,
            author=self.author,
            publication_date=self.publication_date,
            tradition=self.tradition,
            evergreen=self.evergreen,
        )


class RealTimeUploadRequest(ItemFields):
    """`POST /ingestion/v1/real_time_upload`: only `content` is required."""

    content: Annotated[str, Field(min_length=1)]
    publisher_id: str | None = None
    filename: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=255,
            description="Its extension picks the parser; default: the item title plus `type`'s extension (.txt).",
        ),
    ] = None
    producer_id: Annotated[str, Field(max_length=255)] | None = None
    type: Annotated[str, Field(max_length=20)] | None = None


class PatchItemRequest(ItemFields):
    """`PATCH /engine/v2/item`: `publisher_id` plus `item_id` or `producer_id`, and the fields to change."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"type": "string", "minLength": 1}}}
                for name in ("item_id", "producer_id")
            ]
        }
    )

    publisher_id: str
    item_id: str | None = None
    producer_id: str | None = None


class DeleteItemsRequest(WireModel):
    item_ids: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(min_length=1, max_length=1000)]


class SearchRequest(WireModel):
    """`POST /ai/data/v1/search`."""

    query: Annotated[str, Field(min_length=1, max_length=4000)]
    tenant: Annotated[str, Field(min_length=1)]
    limit: Annotated[int, Field(ge=1, le=100)] = 10
    certainty: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    tradition: Tradition | None = None


class GroundedCompletionRequest(ChatCompletionRequest):
    """`POST /ai/v2/chat/completions/grounded`: section 2's request plus the grounding fields."""

    rag_publisher: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    sources_limit: Annotated[int, Field(ge=1, le=10)] = 3
    include_citations: bool = False


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def item_summary_json(item: Item) -> dict[str, Any]:
    """One row of `GET /engine/v2/publisher/{publisher_id}/items`."""
    return {
        "item_id": item.item_id,
        "item_title": item.metadata.title,
        "filename": item.filename,
        "status": item.status.value,
        "producer_id": item.producer_id,
    }


def item_json(item: Item, publisher: Publisher) -> dict[str, Any]:
    """`GET /engine/v2/items/{item_id}`: metadata and status."""
    meta = item.metadata
    return {
        "item_id": item.item_id,
        "publisher_id": item.publisher_id,
        "publisher": publisher.name,
        "filename": item.filename,
        "producer_id": item.producer_id,
        "type": item.type,
        "item_title": meta.title,
        "item_subtitle": meta.subtitle,
        "item_summary": meta.summary,
        "item_url": meta.url,
        "item_tags": list(meta.tags or ()),
        "author": meta.author,
        "publication_date": meta.publication_date,
        "tradition": meta.tradition,
        "evergreen": meta.evergreen,
        "status": item.status.value,
        "failure_reason": item.failure_reason,
        "chunk_count": item.chunk_count,
        "size_bytes": item.size_bytes,
        "created_at": iso_time(item.created_at),
        "updated_at": iso_time(item.updated_at),
    }
