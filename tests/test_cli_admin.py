"""`homily init`, `homily serve`'s first-run initialisation and `homily admin ...`, driven in-process."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import homily.server
from homily.auth.secrets import verify_secret
from homily.settings import Settings
from homily.storage.factory import open_store
from tests.support.cli import clean_cli_environment, run_cli

CREDENTIAL_KEYS = {"org_id", "client_id", "client_secret"}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_cli_environment(monkeypatch, tmp_path)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    status, out, err = run_cli(capsys, *argv, "--json")
    assert status == 0, err
    return json.loads(out)


def stored_secret_hash(data_dir: Path, client_id: str) -> str:
    async def read() -> str:
        store = await open_store(Settings(data_dir=data_dir))
        try:
            credential = await store.get_credential(client_id)
        finally:
            await store.close()
        assert credential is not None
        return credential.secret_hash

    return asyncio.run(read())


def test_init_json_prints_exactly_the_credential(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "init", "--data-dir", str(data_dir), "--json")
    assert status == 0, err
    issued = json.loads(out)
    assert set(issued) == CREDENTIAL_KEYS
    assert out.count("\n") == 1
    assert (data_dir / "signing.key").exists()
    stored = stored_secret_hash(data_dir, issued["client_id"])
    assert issued["client_secret"] not in stored
    assert verify_secret(issued["client_secret"], stored)
    organisations = run_json(capsys, "admin", "org", "list", "--data-dir", str(data_dir))["data"]
    assert [(o["org_id"], o["name"]) for o in organisations] == [(issued["org_id"], "default")]


def test_init_twice_creates_nothing_the_second_time(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "init", "--data-dir", str(data_dir))
    assert status == 0
    assert "client_secret" in out
    assert "shown only this once" in out
    status, out, err = run_cli(capsys, "init", "--data-dir", str(data_dir), "--json")
    assert status == 1
    assert out == ""
    assert "already initialised" in err
    assert "homily admin credential create" in err
    assert len(run_json(capsys, "admin", "credential", "list", "--data-dir", str(data_dir))["data"]) == 1


def test_organisation_credential_publisher_lifecycle(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_json(capsys, "init", "--data-dir", str(data_dir))
    where = ("--data-dir", str(data_dir))
    org = run_json(capsys, "admin", "org", "create", "Acme Church", *where)
    assert org["name"] == "Acme Church"

    issued = run_json(capsys, "admin", "credential", "create", "--org", org["org_id"], "--name", "ci", *where)
    assert set(issued) == CREDENTIAL_KEYS
    assert issued["org_id"] == org["org_id"]

    status, out, _ = run_cli(capsys, "admin", "credential", "list", "--org", org["org_id"], *where)
    assert status == 0
    assert issued["client_id"] in out
    assert issued["client_secret"] not in out
    listed = run_json(capsys, "admin", "credential", "list", "--org", org["org_id"], *where)["data"]
    assert [(c["client_id"], c["name"], c["disabled"]) for c in listed] == [(issued["client_id"], "ci", False)]
    assert "secret_hash" not in listed[0]
    assert "client_secret" not in listed[0]

    disabled = run_json(capsys, "admin", "credential", "disable", issued["client_id"], *where)
    assert disabled["disabled"] is True
    enabled = run_json(capsys, "admin", "credential", "enable", issued["client_id"], *where)
    assert enabled["disabled"] is False

    publisher = run_json(capsys, "admin", "publisher", "create", "--org", org["org_id"], "Sermons", *where)
    assert (publisher["name"], publisher["shared"]) == ("Sermons", False)
    status, _, err = run_cli(capsys, "admin", "publisher", "create", "--org", org["org_id"], "Sermons", *where)
    assert status == 1
    assert "Sermons" in err
    status, out, _ = run_cli(capsys, "admin", "publisher", "list", *where)
    assert status == 0
    assert publisher["publisher_id"] in out

    deleted = run_json(capsys, "admin", "credential", "delete", issued["client_id"], *where)
    assert deleted == {"id": issued["client_id"], "deleted": True}
    status, _, err = run_cli(capsys, "admin", "credential", "delete", issued["client_id"], *where)
    assert status == 1
    assert issued["client_id"] in err

    status, out, _ = run_cli(capsys, "admin", "publisher", "delete", publisher["publisher_id"], *where)
    assert status == 0
    assert "Deleted publisher" in out
    status, out, _ = run_cli(capsys, "admin", "org", "delete", org["org_id"], *where)
    assert status == 0
    names = [o["name"] for o in run_json(capsys, "admin", "org", "list", *where)["data"]]
    assert names == ["default"]


def test_org_delete_cascades_to_credentials(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    issued = run_json(capsys, "init", "--data-dir", str(data_dir))
    run_json(capsys, "admin", "org", "delete", issued["org_id"], "--data-dir", str(data_dir))
    assert run_json(capsys, "admin", "credential", "list", "--data-dir", str(data_dir))["data"] == []


def test_org_models_sets_shows_and_clears_the_allow_list(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    issued = run_json(capsys, "init", "--data-dir", str(data_dir))
    where = ("--data-dir", str(data_dir))
    org_id = issued["org_id"]
    limited = run_json(capsys, "admin", "org", "models", org_id, "gloo-openai-gpt-5-mini", "gloo-deepseek-v3.2", *where)
    assert limited["allowed_models"] == ["gloo-openai-gpt-5-mini", "gloo-deepseek-v3.2"]
    assert run_json(capsys, "admin", "org", "list", *where)["data"] == [limited]
    status, out, _ = run_cli(capsys, "admin", "org", "list", *where)
    assert status == 0
    assert "gloo-openai-gpt-5-mini, gloo-deepseek-v3.2" in out
    status, out, _ = run_cli(capsys, "admin", "org", "models", org_id, "--all", *where)
    assert status == 0
    assert "may use every model" in out
    assert run_json(capsys, "admin", "org", "list", *where)["data"][0]["allowed_models"] is None
    status, out, _ = run_cli(capsys, "admin", "org", "list", *where)
    assert "all" in out.split()


def test_org_models_refuses_unknown_ids_and_bad_usage(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    issued = run_json(capsys, "init", "--data-dir", str(data_dir))
    where = ("--data-dir", str(data_dir))
    status, out, err = run_cli(capsys, "admin", "org", "models", issued["org_id"], "gpt-4o", *where)
    assert (status, out) == (1, "")
    assert err.startswith("homily: error: Unknown model id(s): 'gpt-4o'.")
    assert "GET /platform/v2/models" in err
    assert run_json(capsys, "admin", "org", "list", *where)["data"][0]["allowed_models"] is None
    for argv in (["models", issued["org_id"]], ["models", issued["org_id"], "gloo-openai-gpt-5-mini", "--all"]):
        status, _, err = run_cli(capsys, "admin", "org", *argv, *where)
        assert status == 2, argv
        assert "--all" in err


def test_client_errors_are_one_line_with_exit_1(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "admin", "org", "list", "--data-dir", str(data_dir))
    assert status == 1
    assert out == ""
    assert "homily init" in err
    assert not data_dir.exists()  # an admin command never creates a data directory by accident

    run_json(capsys, "init", "--data-dir", str(data_dir))
    for argv in (
        ("admin", "credential", "create", "--org", "org_missing"),
        ("admin", "org", "create", "default"),
        ("admin", "org", "create", "   "),
        ("admin", "publisher", "list", "--org", "org_missing"),
    ):
        status, _, err = run_cli(capsys, *argv, "--data-dir", str(data_dir))
        assert status == 1, argv
        assert err.startswith("homily: error: "), argv
        assert err.count("\n") == 1, argv


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["admin"], ["admin", "org", "explode"], ["admin", "credential", "create"]):
        status, _, err = run_cli(capsys, *argv)
        assert status == 2, argv
        assert "usage:" in err


def test_configuration_errors_name_the_setting(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOMILY_DATABASE_URL", "postgresql://homily@localhost/homily")
    status, _, err = run_cli(capsys, "init", "--data-dir", str(data_dir))
    assert status == 1
    assert "HOMILY_DATABASE_URL" in err
    monkeypatch.delenv("HOMILY_DATABASE_URL")
    monkeypatch.setenv("HOMILY_TOKEN_TTL_SECONDS", "5")
    status, _, err = run_cli(capsys, "init", "--data-dir", str(data_dir))
    assert status == 2
    assert "invalid setting" in err


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["init"],
        ["admin"],
        ["admin", "org"],
        ["admin", "org", "create"],
        ["admin", "org", "list"],
        ["admin", "org", "delete"],
        ["admin", "org", "models"],
        ["admin", "credential"],
        ["admin", "credential", "create"],
        ["admin", "credential", "list"],
        ["admin", "credential", "delete"],
        ["admin", "credential", "disable"],
        ["admin", "credential", "enable"],
        ["admin", "publisher"],
        ["admin", "publisher", "create"],
        ["admin", "publisher", "list"],
        ["admin", "publisher", "delete"],
    ],
)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, *command, "--help")
    assert status == 0
    assert out.startswith("usage: homily")
    assert len(out.splitlines()) > 4


def test_remote_embeddings_without_a_key_are_refused_at_start(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("HOMILY_RETRIEVAL_EMBEDDINGS", "openai")
    status, _, err = run_cli(capsys, "init", "--data-dir", str(data_dir))
    assert status == 2
    assert "invalid setting (HOMILY_RETRIEVAL_EMBEDDINGS=openai needs HOMILY_RETRIEVAL_EMBEDDINGS_API_KEY" in err
    monkeypatch.setenv("HOMILY_RETRIEVAL_EMBEDDINGS_URL", "http://127.0.0.1:9/v1")  # a local server may take none
    status, _, err = run_cli(capsys, "init", "--data-dir", str(data_dir))
    assert status == 0, err


def test_serve_initialises_an_empty_data_dir_once(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[Settings] = []
    monkeypatch.setattr(homily.server, "run_server", served.append)
    argv = ("serve", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", "8765")
    status, out, _ = run_cli(capsys, *argv)
    assert status == 0
    assert "client_secret" in out
    assert [(s.data_dir, s.host, s.port) for s in served] == [(data_dir, "127.0.0.1", 8765)]
    status, out, _ = run_cli(capsys, *argv)
    assert status == 0
    assert "client_secret" not in out
    assert len(served) == 2
    assert len(run_json(capsys, "admin", "credential", "list", "--data-dir", str(data_dir))["data"]) == 1
