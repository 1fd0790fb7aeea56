"""The store contract on SQLite, plus SQLite-specific behaviour: pragmas, migrations, persistence."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from homily.settings import Settings
from homily.storage.base import Store, StoreError
from homily.storage.factory import open_store
from homily.storage.sqlite import MIGRATIONS, Migration, SchemaVersionError, SqliteStore
from homily.storage.sqlite.migrations import apply_migrations
from tests.store_contract import StoreContract, present


class TestSqliteStoreContract(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path, runner: asyncio.Runner) -> Iterator[Store]:
        store = SqliteStore(tmp_path / "homily.db")
        runner.run(store.open())
        yield store
        runner.run(store.close())


_V2_ADDS_A_COLUMN_AND_TABLE = Migration(
    2,
    "test: a new column with a default and a new table",
    """
    ALTER TABLE publishers ADD COLUMN description TEXT NOT NULL DEFAULT '';
    -- a comment between statements; semicolons in 'strings; like this' must not split statements
    CREATE TABLE notes (note_id INTEGER PRIMARY KEY, body TEXT NOT NULL DEFAULT 'a; b');
    """,
)


def _user_version(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("PRAGMA user_version").fetchone()[0])
    finally:
        connection.close()


def _tables(path: Path) -> set[str]:
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    finally:
        connection.close()
    return {str(row[0]) for row in rows}


def test_new_database_gets_latest_schema_and_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "homily.db"

    async def scenario() -> tuple[str, int]:
        store = SqliteStore(path)
        await store.open()
        try:
            journal = await store._run(lambda db: str(db.execute("PRAGMA journal_mode").fetchone()[0]))
            foreign_keys = await store._run(lambda db: int(db.execute("PRAGMA foreign_keys").fetchone()[0]))
        finally:
            await store.close()
        return journal, foreign_keys

    journal, foreign_keys = asyncio.run(scenario())
    assert journal == "wal"
    assert foreign_keys == 1
    assert _user_version(path) == len(MIGRATIONS)
    assert {"organisations", "credentials", "publishers"} <= _tables(path)


def test_existing_version_0_database_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE unrelated (x INTEGER)")
    connection.execute("INSERT INTO unrelated VALUES (42)")
    connection.commit()
    connection.close()
    assert _user_version(path) == 0

    async def scenario() -> None:
        store = SqliteStore(path)
        await store.open()
        await store.create_organisation("after upgrade")
        await store.close()

    asyncio.run(scenario())
    assert _user_version(path) == len(MIGRATIONS)
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT x FROM unrelated").fetchall() == [(42,)]
    connection.close()


def test_data_survives_reopen_and_upgrade_to_a_new_version(tmp_path: Path) -> None:
    path = tmp_path / "homily.db"

    async def write_v1() -> tuple[str, str]:
        store = SqliteStore(path, migrations=MIGRATIONS[:1])
        await store.open()
        organisation = await store.create_organisation("kept")
        await store.create_credential(organisation.org_id, "c", "hc_kept", "hash")
        publisher = await store.create_publisher(organisation.org_id, "p", shared=True)
        await store.close()
        return organisation.org_id, publisher.publisher_id

    org_id, publisher_id = asyncio.run(write_v1())
    assert _user_version(path) == 1

    async def reopen_v2() -> None:
        store = SqliteStore(path, migrations=(*MIGRATIONS[:1], _V2_ADDS_A_COLUMN_AND_TABLE))
        await store.open()
        try:
            # Store methods assume the latest schema, which this test's made-up v2 is not: read the row directly.
            names = await store._run(lambda db: db.execute("SELECT org_id, name FROM organisations").fetchall())
            assert names == [(org_id, "kept")]
            assert await store.active_credentials() == {"hc_kept": org_id}
            assert present(await store.get_publisher(publisher_id)).shared is True
            description = await store._run(lambda db: db.execute("SELECT description FROM publishers").fetchall())
            assert description == [("",)]
        finally:
            await store.close()

    asyncio.run(reopen_v2())
    assert _user_version(path) == 2
    assert "notes" in _tables(path)
    asyncio.run(reopen_v2())  # opening again at the same version is a no-op
    assert _user_version(path) == 2


def test_version_3_database_migrates_in_place_to_allow_lists(tmp_path: Path) -> None:
    """A data directory written before allow-lists existed keeps its rows; every organisation may use every model."""
    path = tmp_path / "homily.db"
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        assert apply_migrations(connection, MIGRATIONS[:3]) == 3
        connection.execute("INSERT INTO organisations (org_id, name, created_at) VALUES ('org_old', 'Old', 1.0)")
        connection.execute(
            "INSERT INTO credentials (client_id, org_id, name, secret_hash, created_at) "
            "VALUES ('hc_old', 'org_old', 'c', 'hash', 1.0)"
        )
    finally:
        connection.close()

    async def scenario() -> None:
        store = SqliteStore(path)
        await store.open()
        try:
            old = present(await store.get_organisation("org_old"))
            assert (old.name, old.created_at, old.allowed_models) == ("Old", 1.0, None)
            assert await store.active_credentials() == {"hc_old": "org_old"}
            assert await store.set_allowed_models("org_old", ["gpt-x"]) is True
            assert present(await store.get_organisation("org_old")).allowed_models == ("gpt-x",)
        finally:
            await store.close()

    asyncio.run(scenario())
    assert _user_version(path) == len(MIGRATIONS)


def test_corrupt_allow_list_is_a_store_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SqliteStore(tmp_path / "homily.db")
        await store.open()
        try:
            organisation = await store.create_organisation("o")
            sql = "UPDATE organisations SET allowed_models = ? WHERE org_id = ?"
            for corrupt in ("not json", '{"a": 1}', "[1, 2]"):

                def write(db: sqlite3.Connection, value: str = corrupt) -> None:
                    db.execute(sql, (value, organisation.org_id))

                await store._run(write)
                with pytest.raises(StoreError, match="allow-list"):
                    await store.get_organisation(organisation.org_id)
        finally:
            await store.close()

    asyncio.run(scenario())


def test_failed_migration_rolls_back_completely(tmp_path: Path) -> None:
    path = tmp_path / "homily.db"
    broken = Migration(2, "broken", "CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);")

    async def open_with(migrations: tuple[Migration, ...]) -> None:
        store = SqliteStore(path, migrations=migrations)
        await store.open()
        await store.close()

    asyncio.run(open_with(MIGRATIONS[:1]))
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        asyncio.run(open_with((*MIGRATIONS[:1], broken)))
    assert _user_version(path) == 1
    assert "half_done" not in _tables(path)


def test_database_from_a_newer_homily_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "homily.db"
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    connection.close()
    with pytest.raises(SchemaVersionError, match="upgrade Homily"):
        asyncio.run(SqliteStore(path).open())


def test_migration_versions_must_be_consecutive() -> None:
    with pytest.raises(ValueError, match="consecutive"):
        SqliteStore(Path("unused.db"), migrations=(Migration(2, "gap", "SELECT 1;"),))


def test_apply_migrations_requires_no_store(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "direct.db", isolation_level=None)
    try:
        assert apply_migrations(connection) == len(MIGRATIONS)
        assert apply_migrations(connection) == len(MIGRATIONS)
    finally:
        connection.close()


def test_methods_before_open_raise_a_clear_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "homily.db")
    with pytest.raises(StoreError, match="not open"):
        asyncio.run(store.list_organisations())
    assert asyncio.run(store.ping()) is False


def test_close_twice_and_reopen(tmp_path: Path) -> None:
    async def scenario() -> int:
        store = SqliteStore(tmp_path / "homily.db")
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


def test_factory_opens_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    async def scenario(settings: Settings) -> bool:
        store = await open_store(settings)
        try:
            return await store.ping()
        finally:
            await store.close()

    assert asyncio.run(scenario(Settings(data_dir=tmp_path / "data"))) is True
    assert (tmp_path / "data" / "homily.db").exists()
    explicit = tmp_path / "elsewhere.db"
    assert asyncio.run(scenario(Settings(data_dir=tmp_path, database_url=f"sqlite:///{explicit}"))) is True
    assert explicit.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://u:p@localhost/db", "unsupported scheme 'mysql'"), ("sqlite://relative.db", "unsupported")],
)
def test_factory_rejects_other_urls_naming_the_setting(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        asyncio.run(open_store(Settings(data_dir=tmp_path, database_url=url)))
    assert "HOMILY_DATABASE_URL" in str(caught.value)
    assert "u:p" not in str(caught.value)
