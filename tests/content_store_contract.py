"""Backend-neutral contract for `homily.storage.content.ContentStore`.

A backend's test module subclasses `ContentStoreContract` and provides `store` (an opened `Store`) and `content`
(an opened `ContentStore` over the same database), both running on the `runner` fixture's loop.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from homily.storage.base import Publisher, Store
from homily.storage.content import ContentStore, DuplicateContentError, ItemMetadata, ItemStatus, NewItem
from tests.store_contract import RunCoroutine, present


def new_item(publisher: Publisher, data: bytes = b"text", **fields: object) -> NewItem:
    values: dict[str, object] = {
        "item_id": str(uuid.uuid4()),
        "publisher_id": publisher.publisher_id,
        "org_id": publisher.org_id,
        "filename": "notes.txt",
        "type": "txt",
        "content_hash": "hash-" + data.decode(),
        "data": data,
    }
    values.update(fields)
    return NewItem(**values)  # type: ignore[arg-type]


class ContentStoreContract:
    """Every `ContentStore` backend must pass these unchanged."""

    @pytest.fixture
    def runner(self) -> Iterator[asyncio.Runner]:
        with asyncio.Runner() as runner:
            yield runner

    @pytest.fixture
    def run(self, runner: asyncio.Runner) -> RunCoroutine:
        return runner.run

    @pytest.fixture
    def publisher(self, store: Store, run: RunCoroutine) -> Publisher:
        organisation = run(store.create_organisation("Parish"))
        return run(store.create_publisher(organisation.org_id, "Sermons"))

    def test_add_then_get_keeps_content_and_metadata(
        self, content: ContentStore, publisher: Publisher, run: RunCoroutine
    ) -> None:
        meta = ItemMetadata(title="Advent", tags=("advent", "hope"), tradition="mainline", evergreen=True)
        item = run(content.add_item(new_item(publisher, b"advent sermon", metadata=meta, producer_id="p-1")))
        assert item.status is ItemStatus.QUEUED
        assert item.generation == 1
        assert item.size_bytes == len(b"advent sermon")
        got = present(run(content.get_item(item.item_id)))
        assert got == item
        assert got.metadata == meta
        assert run(content.get_content(item.item_id)) == b"advent sermon"
        assert run(content.find_by_producer(publisher.publisher_id, "p-1")) == item
        assert run(content.list_items(publisher.publisher_id)) == [item]

    def test_identical_content_is_a_duplicate(
        self, content: ContentStore, publisher: Publisher, run: RunCoroutine
    ) -> None:
        first = run(content.add_item(new_item(publisher, b"same")))
        with pytest.raises(DuplicateContentError) as caught:
            run(content.add_item(new_item(publisher, b"same", filename="copy.txt")))
        assert caught.value.existing_item_id == first.item_id
        assert len(run(content.list_items(publisher.publisher_id))) == 1

    def test_status_machine_completes_exactly_once(
        self, content: ContentStore, publisher: Publisher, run: RunCoroutine
    ) -> None:
        item = run(content.add_item(new_item(publisher)))
        assert present(run(content.next_unfinished())).item_id == item.item_id
        claimed = present(run(content.claim(item.item_id, 1)))
        assert (claimed.status, claimed.attempts) == (ItemStatus.CHUNKING, 1)
        assert run(content.advance(item.item_id, 1, ItemStatus.EMBEDDING, chunk_count=3))
        resumed = present(run(content.claim(item.item_id, 1, status=ItemStatus.EMBEDDING)))
        assert (resumed.status, resumed.attempts) == (ItemStatus.EMBEDDING, 1)  # resuming embedding is free
        assert run(content.advance(item.item_id, 1, ItemStatus.COMPLETED, chunk_count=3))
        assert not run(content.advance(item.item_id, 1, ItemStatus.COMPLETED, chunk_count=3))
        assert not run(content.fail(item.item_id, 1, "too late"))
        assert run(content.claim(item.item_id, 1)) is None
        done = present(run(content.get_item(item.item_id)))
        assert (done.status, done.chunk_count, done.failure_reason) == (ItemStatus.COMPLETED, 3, None)
        assert run(content.next_unfinished()) is None

    def test_failure_keeps_its_reason(self, content: ContentStore, publisher: Publisher, run: RunCoroutine) -> None:
        item = run(content.add_item(new_item(publisher)))
        run(content.claim(item.item_id, 1))
        assert run(content.fail(item.item_id, 1, "the file is empty"))
        failed = present(run(content.get_item(item.item_id)))
        assert (failed.status, failed.failure_reason) == (ItemStatus.FAILED, "the file is empty")
        assert [row.status for row in run(content.list_items(publisher.publisher_id))] == [ItemStatus.FAILED]

    def test_replaced_content_starts_a_new_generation(
        self, content: ContentStore, publisher: Publisher, run: RunCoroutine
    ) -> None:
        item = run(content.add_item(new_item(publisher, b"v1")))
        run(content.claim(item.item_id, 1))
        replaced = run(content.replace_content(item.item_id, b"v2", "hash-v2", "notes.md", "md"))
        assert (replaced.generation, replaced.status, replaced.filename) == (2, ItemStatus.QUEUED, "notes.md")
        assert not run(content.advance(item.item_id, 1, ItemStatus.EMBEDDING))  # the old run cannot finish it
        assert run(content.get_content(item.item_id)) == b"v2"
        other = run(content.add_item(new_item(publisher, b"v3")))
        with pytest.raises(DuplicateContentError):
            run(content.replace_content(other.item_id, b"v2", "hash-v2", "x.txt", "txt"))
        with pytest.raises(KeyError):
            run(content.replace_content("missing", b"v4", "hash-v4", "x.txt", "txt"))

    def test_metadata_update_and_fill(self, content: ContentStore, publisher: Publisher, run: RunCoroutine) -> None:
        item = run(content.add_item(new_item(publisher, metadata=ItemMetadata(title="Given"))))
        run(content.fill_metadata(item.item_id, ItemMetadata(title="Parsed", author="Parsed Author")))
        filled = present(run(content.get_item(item.item_id)))
        assert (filled.metadata.title, filled.metadata.author) == ("Given", "Parsed Author")
        updated = present(run(content.update_metadata(item.item_id, ItemMetadata(title="New", tags=("a",)))))
        assert (updated.metadata.title, updated.metadata.tags, updated.metadata.author) == (
            "New",
            ("a",),
            "Parsed Author",
        )
        assert run(content.update_metadata("missing", ItemMetadata(title="x"))) is None

    def test_delete_removes_item_and_content(
        self, content: ContentStore, publisher: Publisher, run: RunCoroutine
    ) -> None:
        kept = run(content.add_item(new_item(publisher, b"kept")))
        gone = run(content.add_item(new_item(publisher, b"gone")))
        assert run(content.delete_items([gone.item_id, "missing"])) == {gone.item_id}
        assert run(content.get_item(gone.item_id)) is None
        assert run(content.get_content(gone.item_id)) is None
        assert run(content.get_items([kept.item_id, gone.item_id])) == {kept.item_id: kept}
        again = run(content.add_item(new_item(publisher, b"gone")))  # its content may be uploaded again
        assert again.item_id != gone.item_id

    def test_oldest_unfinished_item_comes_first(
        self, content: ContentStore, publisher: Publisher, run: RunCoroutine
    ) -> None:
        first = run(content.add_item(new_item(publisher, b"one")))
        run(content.add_item(new_item(publisher, b"two")))
        assert present(run(content.next_unfinished())).item_id == first.item_id
        assert run(content.count_unfinished()) == 2
        run(content.claim(first.item_id, 1))
        assert present(run(content.next_unfinished())).item_id == first.item_id  # CHUNKING is resumed too
        assert run(content.count_unfinished()) == 2
        run(content.fail(first.item_id, 1, "bad"))
        assert present(run(content.next_unfinished())).item_id != first.item_id
        assert run(content.count_unfinished()) == 1

    def test_deleting_the_publisher_deletes_its_items(
        self, store: Store, content: ContentStore, publisher: Publisher, run: RunCoroutine
    ) -> None:
        item = run(content.add_item(new_item(publisher)))
        assert run(store.delete_publisher(publisher.publisher_id))
        assert run(content.get_item(item.item_id)) is None
