"""`homily route "..."`: the explanation of one routing decision (issue #4, item 3), driven in-process with the
local embedding model and the shipped router weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from homily.catalog.loader import load_catalog
from homily.cli.main import main

PROVIDER_KEYS = (
    *("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "HOMILY_OPEN_SOURCE_API_KEY",
)
CODE_REQUEST = "Write a Python function that parses Bible references like John 3:16 into book, chapter and verse."
CATALOG = load_catalog()


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No provider configured (the ranking then covers every family), no stray .env or data directory."""
    for name in ("HOMILY_DATA_DIR", "HOMILY_DATABASE_URL", "HOMILY_ROUTING_PREFERENCE", *PROVIDER_KEYS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def route_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    status = main(["route", *argv, "--json"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    explanation: dict[str, Any] = json.loads(captured.out)
    return explanation


def family_of(model_id: str) -> str:
    model = CATALOG.get(model_id)
    assert model is not None, model_id
    return model.family


def test_json_explains_score_tier_confidence_model_and_features(capsys: pytest.CaptureFixture[str]) -> None:
    explanation = route_json(capsys, CODE_REQUEST)
    assert explanation["tier"] == "tier_3"
    low, high = explanation["boundaries"]
    assert explanation["score"] >= high > low
    assert 0.0 <= explanation["confidence"] <= 1.0
    assert explanation["model"] is not None
    assert explanation["model"] not in explanation["runners_up"]
    assert explanation["top_features"], "the features that weighed most are listed"
    assert "no provider configured" in explanation["note"]


def test_greeting_lands_in_tier_1_and_text_output_names_each_part(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", "Good morning, thank you so much!"]) == 0
    out = capsys.readouterr().out
    assert "tier        tier_1" in out
    for label in ("score", "confidence", "model", "runners-up", "features that weighed most"):
        assert label in out


def test_family_mode_ranks_only_that_family(capsys: pytest.CaptureFixture[str]) -> None:
    explanation = route_json(capsys, CODE_REQUEST, "--family", "anthropic")
    ranked = [explanation["model"], *explanation["runners_up"]]
    assert {family_of(model_id) for model_id in ranked} == {"Anthropic"}


def test_unknown_family_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", "Hello", "--family", "klingon"]) != 0
    assert "unknown model family 'klingon'" in capsys.readouterr().err


def test_org_ranks_only_the_models_the_organisation_may_use(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    where = ("--data-dir", str(data_dir))
    assert main(["init", "--json", *where]) == 0
    org_id = json.loads(capsys.readouterr().out)["org_id"]
    allowed = ["gloo-openai-gpt-5-mini", "gloo-deepseek-v3.2"]
    assert main(["admin", "org", "models", org_id, *allowed, *where]) == 0
    capsys.readouterr()
    explanation = route_json(capsys, CODE_REQUEST, "--org", org_id, *where)
    assert {explanation["model"], *explanation["runners_up"]} == set(allowed)
    assert f"organisation {org_id} may use 2 model(s)" in explanation["note"]
    unrestricted = route_json(capsys, CODE_REQUEST)
    assert len(unrestricted["runners_up"]) + 1 > len(allowed)


def test_unknown_org_is_a_clear_error(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    where = ("--data-dir", str(data_dir))
    assert main(["init", "--json", *where]) == 0
    capsys.readouterr()
    assert main(["route", "Hello", "--org", "org_missing", *where]) != 0
    assert "no organisation 'org_missing'" in capsys.readouterr().err
