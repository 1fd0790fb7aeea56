"""The store contract on PostgreSQL, plus PostgreSQL-specific behaviour: concurrent migration, persistence, ping."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from homily.storage.base import Store
from homily.storage.postgres import PostgresStore
from tests.store_contract import StoreContract


class TestPostgresStoreContract(StoreContract):
    @pytest.fixture
    def store(self, postgres_url: str, runner: asyncio.Runner) -> Iterator[Store]:
        store = PostgresStore(postgres_url)
        runner.run(store.open())
        yield store
        runner.run(store.close())
