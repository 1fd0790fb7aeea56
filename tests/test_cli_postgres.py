"""`homily init` and `homily serve` against PostgreSQL, as an operator setting up replicas meets them: a server
without pgvector is refused in one line before anything is created, and the messages name the database (where
organisations and credentials live), not the data directory that then holds only caches."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

import homily.server
from homily.settings import Settings
from homily.storage.postgres.pool import describe_url
from tests.support.cli import clean_cli_environment, run_cli
from tests.support.services import plain_role


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_cli_environment(monkeypatch, tmp_path)


def _organisation_tables(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'organisations'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_init_and_serve_without_pgvector_fail_in_one_line_and_create_nothing(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[Settings] = []
    monkeypatch.setattr(homily.server, "run_server", served.append)
    with plain_role(postgres_url) as as_plain:  # may not CREATE EXTENSION, as a database owner who is no superuser
        monkeypatch.setenv("HOMILY_DATABASE_URL", as_plain)
        for command in (("init", "--json"), ("serve", "--port", "8765")):
            status, out, err = run_cli(capsys, *command, "--data-dir", str(tmp_path / "data"))
            assert status == 1, command
            assert out == ""
            assert err.startswith("homily: error: HOMILY_DATABASE_URL: PostgreSQL cannot enable the pgvector")
            assert "CREATE EXTENSION vector" in err
            assert "Traceback" not in err
        assert served == []
        assert _organisation_tables(postgres_url) == 0
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("CREATE EXTENSION vector")  # what the message asks a superuser to do once
        status, out, err = run_cli(capsys, "init", "--json", "--data-dir", str(tmp_path / "data"))
        assert status == 0, err
        assert set(json.loads(out)) == {"org_id", "client_id", "client_secret"}


def test_messages_name_the_database_rather_than_the_data_directory(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[Settings] = []
    monkeypatch.setattr(homily.server, "run_server", served.append)
    monkeypatch.setenv("HOMILY_DATABASE_URL", postgres_url)
    database = f"the database at {describe_url(postgres_url)}"
    status, out, err = run_cli(capsys, "serve", "--port", "8765", "--data-dir", str(tmp_path / "first"))
    assert status == 0, err
    assert f"Initialised {database}: first credential" in out
    status, out, err = run_cli(capsys, "init", "--data-dir", str(tmp_path / "second"))  # another replica's machine
    assert status == 1
    assert f"{database} is already initialised" in err
    assert "second" not in err
    assert len(served) == 1
