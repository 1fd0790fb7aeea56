"""What a newcomer meets on the command line: every command explains itself in `--help`, and the mistakes one
makes first (a bad option value, a missing file, a busy port, the wrong organisation) end in one line that says
what to do, before anything is changed."""

from __future__ import annotations

import argparse
import importlib
import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from homily.cli.main import build_parser, main
from tests.support.cli import clean_cli_environment, run_cli


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_cli_environment(monkeypatch, tmp_path)


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for action in parser._actions:  # argparse offers no public accessor for sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _commands(child, (*path, name))


def _parser_of(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


COMMANDS = list(_commands(build_parser()))


def test_the_walk_finds_every_command() -> None:
    leaves = {" ".join(path) for path in COMMANDS}
    assert {"serve", "init", "ingest", "search", "route", "guard", "eval routing", "eval guard"} <= leaves
    assert {"eval retrieval", "admin org models", "admin credential delete", "admin publisher create"} <= leaves


@pytest.mark.parametrize("path", [path for path in COMMANDS if path], ids=" ".join)
def test_every_command_describes_itself_and_every_argument(path: tuple[str, ...]) -> None:
    parser = _parser_of(path)
    assert parser.description, f"`homily {' '.join(path)} --help` has no description"
    undocumented = [
        action.dest
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction) and not action.help
    ]
    assert undocumented == [], f"`homily {' '.join(path)} --help` does not explain {undocumented}"


def test_an_invalid_guard_policy_is_one_line_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "guard", "hello", "--no-embedding", "--policy", "{bad")
    assert status == 2
    assert out == ""
    assert err.startswith("homily: error: --policy is not a valid guard policy")
    assert err.count("\n") == 1


def test_a_missing_file_is_one_line_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere" / "router.npz"
    status, _, err = run_cli(capsys, "route", "hello", "--weights", str(missing))
    assert status == 1
    assert err == f"homily: error: no such file or directory: {missing}\n"


def test_ingest_refuses_an_unsupported_file_before_creating_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    assert main(["init", "--data-dir", str(data_dir), "--json"]) == 0
    (tmp_path / "notes.txt").write_text("Seventy times seven.", encoding="utf-8")
    (tmp_path / "app.py").write_text("print('hi')", encoding="utf-8")
    capsys.readouterr()

    argv = ["ingest", str(tmp_path / "notes.txt"), str(tmp_path / "app.py"), "--publisher", "Sermons"]
    status, _, err = run_cli(capsys, *argv, "--data-dir", str(data_dir))
    assert status == 1
    assert err.startswith(f"homily: error: {tmp_path / 'app.py'}: unsupported file type .py; supported: .txt")
    status, out, _ = run_cli(capsys, "admin", "publisher", "list", "--data-dir", str(data_dir), "--json")
    assert status == 0
    assert "Sermons" not in [publisher["name"] for publisher in json.loads(out)["data"]]


def test_search_in_another_organisations_publisher_says_to_pass_its_org(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    assert main(["init", "--data-dir", str(data_dir), "--json"]) == 0
    assert main(["admin", "org", "create", "St. Mark's", "--data-dir", str(data_dir), "--json"]) == 0
    org_id = json.loads(capsys.readouterr().out.splitlines()[-1])["org_id"]
    assert main(["admin", "publisher", "create", "Sermons", "--org", org_id, "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()

    status, _, err = run_cli(capsys, "search", "grace", "--publisher", "Sermons", "--data-dir", str(data_dir))
    assert status == 1
    assert "no publisher named 'Sermons'" in err
    assert "--org ORG_ID" in err
    assert "homily admin publisher list" in err


def test_a_search_that_finds_nothing_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty publisher needs content (and shows no empty table); passages too far from the query to be cited
    are said to be so (exit status 0 throughout). The shared library: tests/test_cli_library.py."""
    data_dir = tmp_path / "data"
    assert main(["init", "--data-dir", str(data_dir), "--json"]) == 0
    org_id = json.loads(capsys.readouterr().out.splitlines()[-1])["org_id"]
    assert main(["admin", "publisher", "create", "Sermons", "--org", org_id, "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()

    status, out, err = run_cli(capsys, "search", "grace", "--publisher", "Sermons", "--data-dir", str(data_dir))
    assert (status, out) == (0, "")
    assert "homily ingest PATH --publisher 'Sermons'" in err
    status, out, _ = run_cli(capsys, "search", "grace", "--publisher", "Sermons", "--data-dir", str(data_dir), "--json")
    assert (status, json.loads(out)) == (0, [])
    notes = tmp_path / "notes.txt"
    notes.write_text("Tithing records for the harvest festival.", encoding="utf-8")
    assert main(["ingest", str(notes), "--publisher", "Sermons", "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    status, _, err = run_cli(capsys, "search", "zygote", "--publisher", "Sermons", "--data-dir", str(data_dir))
    assert status == 0
    assert "None of these passages is close enough to the query to count as relevant" in err
    status, _, err = run_cli(capsys, "search", "harvest tithes", "--publisher", "Sermons", "--data-dir", str(data_dir))
    assert (status, err) == (0, "")


def test_serve_on_a_busy_port_says_what_to_do_without_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(args))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        status, _, err = run_cli(
            capsys, "serve", "--data-dir", str(tmp_path / "data"), "--host", "127.0.0.1", "--port", str(port)
        )
    assert status == 1
    assert started == []
    assert err.startswith(f"homily: error: cannot listen on 127.0.0.1:{port} (")
    assert "--port or HOMILY_PORT" in err


def test_an_unknown_id_names_the_command_that_lists_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "data"
    assert main(["init", "--data-dir", str(data_dir), "--json"]) == 0
    capsys.readouterr()
    for argv, listing in (
        (["credential", "create", "--org", "org_nope"], "homily admin org list"),
        (["credential", "delete", "hc_nope"], "homily admin credential list"),
        (["org", "models", "org_nope", "--all"], "homily admin org list"),
    ):
        status, out, err = run_cli(capsys, "admin", *argv, "--data-dir", str(data_dir))
        assert (status, out) == (1, "")
        assert err.startswith("homily: error: No ")
        assert err.endswith(f"`{listing}` shows those in {data_dir} (--data-dir to read another).\n")


def test_a_command_run_away_from_the_data_directory_says_to_pass_it(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "search", "grace")
    assert (status, out) == (1, "")
    assert err == (
        f"homily: error: no Homily database at homily-data/homily.db (under {Path.cwd()}); pass the data directory "
        "`homily serve` uses with --data-dir (or HOMILY_DATA_DIR), or create one with "
        "`homily init --data-dir homily-data`\n"
    )


@pytest.mark.parametrize("fake", ["openai", "anthropic", "google"])
def test_a_fake_upstream_on_a_busy_port_is_one_line(
    fake: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module(f"homily.fakes.{fake}_upstream")
    program = f"python -m homily.fakes.{fake}_upstream"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setattr(sys, "argv", [program, "--port", str(port)])
        with pytest.raises(SystemExit) as exited:
            raise SystemExit(module.main())
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{program}: error: cannot listen on 127.0.0.1:{port} (")
    assert err.endswith("stop what uses that port or pass another --port\n")
    assert err.count("\n") == 1
