"""The PostgreSQL content store passes the backend-neutral contract, and replicas share its queue safely."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from homily.storage.base import Store
from homily.storage.content import ContentStore
from homily.storage.postgres import PostgresContentStore, PostgresStore
from tests.content_store_contract import ContentStoreContract


class TestPostgresContentStoreContract(ContentStoreContract):
    @pytest.fixture
    def store(self, postgres_url: str, runner: asyncio.Runner) -> Iterator[Store]:
        store = PostgresStore(postgres_url)
        runner.run(store.open())
        yield store
        runner.run(store.close())

    @pytest.fixture
    def content(self, postgres_url: str, store: Store, runner: asyncio.Runner) -> Iterator[ContentStore]:
        content = PostgresContentStore(postgres_url)
        runner.run(content.open())
        yield content
        runner.run(content.close())
