"""The store contract on PostgreSQL, plus PostgreSQL-specific behaviour: concurrent migration, persistence, ping."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from pydantic import SecretStr

from homily.auth.keys import SIGNING_KEY_FILENAME, load_signing_key
from homily.settings import Settings
from homily.storage.base import Store, StoreError
from homily.storage.factory import open_content_store, open_store
from homily.storage.postgres import MIGRATIONS, DatabaseUnavailableError, PostgresContentStore, PostgresStore
from homily.storage.sqlite import Migration, SchemaVersionError, SqliteStore
from homily.storage.sqlite.content import SqliteContentStore
from tests.store_contract import StoreContract, present
from tests.support.services import PostgresServer, allow_connections, free_port


class TestPostgresStoreContract(StoreContract):
    @pytest.fixture
    def store(self, postgres_url: str, runner: asyncio.Runner) -> Iterator[Store]:
        store = PostgresStore(postgres_url)
        runner.run(store.open())
        yield store
        runner.run(store.close())


def _versions(url: str) -> list[int]:
    with psycopg.connect(url) as connection:
        return [int(row[0]) for row in connection.execute("SELECT version FROM schema_migrations ORDER BY version")]


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {str(row[0]) for row in rows}


def test_replicas_opening_an_empty_database_at_once_migrate_it_exactly_once(postgres_url: str) -> None:
    async def scenario() -> int:
        stores = [PostgresStore(postgres_url) for _ in range(4)]
        contents = [PostgresContentStore(postgres_url) for _ in range(2)]
        opened: list[PostgresStore | PostgresContentStore] = [*stores, *contents]
        await asyncio.gather(*(store.open() for store in opened))
        try:
            await asyncio.gather(*(store.create_organisation(f"org {n}") for n, store in enumerate(stores)))
            return len(await stores[0].list_organisations())
        finally:
            await asyncio.gather(*(store.close() for store in opened))

    assert asyncio.run(scenario()) == 4
    assert _versions(postgres_url) == [migration.version for migration in MIGRATIONS]
    assert {"organisations", "credentials", "publishers", "items", "item_contents", "secrets"} <= _tables(postgres_url)
    assert "chunks" not in _tables(postgres_url)  # the PostgreSQL chunk index owns that table


def test_data_survives_close_and_reopen_and_an_upgrade(postgres_url: str) -> None:
    async def write_v1() -> tuple[str, str]:
        store = PostgresStore(postgres_url, migrations=MIGRATIONS[:1])
        await store.open()
        organisation = await store.create_organisation("kept")
        await store.set_allowed_models(organisation.org_id, ["m-1"])
        await store.create_credential(organisation.org_id, "c", "hc_kept", "hash")
        publisher = await store.create_publisher(organisation.org_id, "p", shared=True)
        await store.close()
        return organisation.org_id, publisher.publisher_id

    async def reopen() -> None:
        store = PostgresStore(postgres_url)
        await store.open()
        try:
            assert present(await store.get_organisation(org_id)).allowed_models == ("m-1",)
            assert await store.active_credentials() == {"hc_kept": org_id}
            assert present(await store.get_publisher(publisher_id)).shared is True
        finally:
            await store.close()

    org_id, publisher_id = asyncio.run(write_v1())
    assert _versions(postgres_url) == [1]
    asyncio.run(reopen())
    assert _versions(postgres_url) == [migration.version for migration in MIGRATIONS]
    asyncio.run(reopen())  # opening again at the latest version changes nothing
    assert _versions(postgres_url) == [migration.version for migration in MIGRATIONS]


def test_failed_migration_rolls_back_completely(postgres_url: str) -> None:
    broken = Migration(2, "broken", "CREATE TABLE half_done (x integer);\nINSERT INTO no_such_table VALUES (1);")

    async def open_with(migrations: tuple[Migration, ...]) -> None:
        store = PostgresStore(postgres_url, migrations=migrations)
        await store.open()
        await store.close()

    asyncio.run(open_with(MIGRATIONS[:1]))
    with pytest.raises(psycopg.errors.UndefinedTable, match="no_such_table"):
        asyncio.run(open_with((*MIGRATIONS[:1], broken)))
    assert _versions(postgres_url) == [1]
    assert "half_done" not in _tables(postgres_url)


def test_database_from_a_newer_homily_is_refused(postgres_url: str) -> None:
    asyncio.run(_open_and_close(PostgresStore(postgres_url)))
    with psycopg.connect(postgres_url) as connection:
        connection.execute("INSERT INTO schema_migrations (version, description) VALUES (99, 'from the future')")
    with pytest.raises(SchemaVersionError, match="upgrade Homily"):
        asyncio.run(_open_and_close(PostgresStore(postgres_url)))


async def _open_and_close(store: PostgresStore) -> None:
    await store.open()
    await store.close()


def test_methods_before_open_raise_a_clear_error(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    with pytest.raises(StoreError, match="not open"):
        asyncio.run(store.list_organisations())
    assert asyncio.run(store.ping()) is False


def test_unreachable_server_is_a_clear_error_and_ping_is_false() -> None:
    url = f"postgresql://someone:hunter2@127.0.0.1:{free_port()}/nowhere"
    store = PostgresStore(url)
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailableError, match="HOMILY_DATABASE_URL") as caught:
        asyncio.run(store.open())
    assert time.monotonic() - started < 15
    assert "hunter2" not in str(caught.value)
    assert asyncio.run(store.ping()) is False


def test_ping_is_false_once_the_database_is_gone(postgres_server: PostgresServer) -> None:
    async def scenario(url: str) -> tuple[bool, bool, bool]:
        store = PostgresStore(url)
        await store.open()
        try:
            before = await store.ping()
            with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(url.rsplit("/", 1)[1])))
            after = await store.ping()
            with pytest.raises(DatabaseUnavailableError):
                await store.list_organisations()
            return before, after, await store.ping()
        finally:
            await store.close()

    with postgres_server.fresh_database() as url:
        assert asyncio.run(scenario(url)) == (True, False, False)


def test_the_store_is_back_within_seconds_of_the_database_after_an_outage(postgres_url: str) -> None:
    """A lost pooled connection is retried by psycopg_pool with doubling delays (about 1, 3, 7, 15 s after the
    loss, for up to five minutes), and while those attempts wait the pool starts no other: after an outage the
    stores kept answering "database unavailable" for about as long again once the server was back (20 s after
    a 40 s outage in the soak). Attempts now give up after a few seconds, so the next request starts a fresh one."""

    async def scenario() -> float:
        store = PostgresStore(postgres_url)
        await store.open()
        try:
            await store.list_organisations()
            allow_connections(postgres_url, False)
            try:
                outage_ends = time.monotonic() + 9.0  # the backoff reaches an 8 s delay (attempts ~1, 3, 7, 15 s)
                while time.monotonic() < outage_ends:
                    assert not await store.ping()
            finally:
                allow_connections(postgres_url, True)
            back = time.monotonic()
            while not await store.ping():
                assert time.monotonic() - back < 30
            return time.monotonic() - back
        finally:
            await store.close()

    assert asyncio.run(scenario()) < 2.5  # measured: ~0.01 s now, 4.1-4.6 s with psycopg_pool's default


def test_close_twice_and_reopen(postgres_url: str) -> None:
    async def scenario() -> int:
        store = PostgresStore(postgres_url)
        await store.open()
        await store.create_organisation("x")
        await store.close()
        await store.close()
        await store.open()
        try:
            return len(await store.list_organisations())
        finally:
            await store.close()

    assert asyncio.run(scenario()) == 1


# -- the shared signing key -------------------------------------------------------------------------------------


def test_replicas_share_one_signing_key_that_survives_restarts(postgres_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=postgres_url)

    async def keys() -> list[bytes]:
        stores = [PostgresStore(postgres_url) for _ in range(3)]
        await asyncio.gather(*(store.open() for store in stores))
        try:
            return list(await asyncio.gather(*(load_signing_key(settings, store) for store in stores)))
        finally:
            await asyncio.gather(*(store.close() for store in stores))

    first = asyncio.run(keys())
    assert len(set(first)) == 1
    assert re.fullmatch(rb"[0-9a-f]{64}", first[0])
    assert asyncio.run(keys()) == first
    assert not (tmp_path / SIGNING_KEY_FILENAME).exists()  # no per-replica key file


def test_configured_signing_key_wins_over_the_database(postgres_url: str, tmp_path: Path) -> None:
    configured = "k" * 40
    settings = Settings(data_dir=tmp_path, database_url=postgres_url, signing_key=SecretStr(configured))

    async def key() -> bytes:
        store = PostgresStore(postgres_url)
        await store.open()
        try:
            return await load_signing_key(settings, store)
        finally:
            await store.close()

    assert asyncio.run(key()) == configured.encode()


def test_sqlite_keeps_the_signing_key_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)

    async def key() -> bytes:
        store = SqliteStore(settings.sqlite_path)
        await store.open()
        try:
            return await load_signing_key(settings, store)
        finally:
            await store.close()

    assert asyncio.run(key()) == (tmp_path / SIGNING_KEY_FILENAME).read_bytes()


# -- the factory ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_factory_opens_postgres_for_both_schemes(postgres_url: str, tmp_path: Path, scheme: str) -> None:
    url = scheme + postgres_url.removeprefix("postgresql")
    settings = Settings(data_dir=tmp_path, database_url=url)

    async def scenario() -> tuple[type, type, bool]:
        store = await open_store(settings)
        content = await open_content_store(settings)
        try:
            return type(store), type(content), await store.ping()
        finally:
            await content.close()
            await store.close()

    assert asyncio.run(scenario()) == (PostgresStore, PostgresContentStore, True)
    assert not (tmp_path / "homily.db").exists()


def test_factory_opens_sqlite_content_store_by_default(tmp_path: Path) -> None:
    async def scenario() -> type:
        content = await open_content_store(Settings(data_dir=tmp_path))
        await content.close()
        return type(content)

    assert asyncio.run(scenario()) is SqliteContentStore
    assert (tmp_path / "homily.db").exists()


def test_factory_names_the_setting_when_postgres_is_unreachable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"postgresql://u:secret@127.0.0.1:{free_port()}/db")
    for opener in (open_store, open_content_store):
        with pytest.raises(DatabaseUnavailableError, match="HOMILY_DATABASE_URL") as caught:
            asyncio.run(opener(settings))
        assert "secret" not in str(caught.value)


def test_factory_rejects_other_schemes_naming_the_setting(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="mysql://u:p@localhost/db")
    for opener in (open_store, open_content_store):
        with pytest.raises(ValueError, match="unsupported scheme 'mysql'") as caught:
            asyncio.run(opener(settings))
        assert "HOMILY_DATABASE_URL" in str(caught.value)
        assert "u:p" not in str(caught.value)
