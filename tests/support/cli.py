"""Driving the `homily` command in-process, in a clean environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from homily.cli.main import main

_LOCATION_SETTINGS = ("HOMILY_DATA_DIR", "HOMILY_DATABASE_URL", "HOMILY_SIGNING_KEY", "HOMILY_PORT", "HOMILY_HOST")


def clean_cli_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No location setting from the environment, and no stray .env read (the working directory is `tmp_path`)."""
    for name in _LOCATION_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`homily argv...`: the exit status, stdout and stderr."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err
