"""`homily models`: every catalog id, and whether this configuration can call it (naming the setting if not)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from homily.catalog.loader import load_catalog
from homily.cli.main import main


def test_models_lists_the_catalog_and_what_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    for name in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "HOMILY_OPEN_SOURCE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["models", "--json", "--data-dir", str(tmp_path)]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == {model.id for model in load_catalog().models}
    assert rows["gloo-openai-gpt-5-mini"]["configured"] is True
    assert rows["gloo-anthropic-claude-haiku-4.5"] | {"configured": False, "setting": "ANTHROPIC_API_KEY"} == rows[
        "gloo-anthropic-claude-haiku-4.5"
    ]
    assert main(["models", "--data-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "gloo-google-gemini-2.5-flash " in text
    assert "no (set GEMINI_API_KEY)" in text
    assert "no (set HOMILY_OPEN_SOURCE_BASE_URL)" in text
