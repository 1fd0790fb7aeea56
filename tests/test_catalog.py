"""The shipped catalog and its override file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from homily.catalog.loader import CatalogError, load_catalog
from tests.support.live import make_settings, start_homily


def test_shipped_catalog_is_consistent() -> None:
    catalog = load_catalog()
    assert len(catalog.models) == 15
    for family in catalog.family_order:
        tiers = {m.tier for m in catalog.in_family(family)}
        assert tiers == {1, 2, 3}, f"{family} must offer a model for every tier"
    gpt_oss = catalog.get("gloo-openai-gpt-oss-120b")
    assert gpt_oss is not None
    assert (gpt_oss.family, gpt_oss.provider) == ("Open Source", "open_source")


def test_override_file_replaces_the_catalog(tmp_path: Path) -> None:
    shipped = json.loads((Path(__file__).parents[1] / "src/homily/catalog/models.json").read_text())
    shipped["models"] = [m for m in shipped["models"] if m["family"] == "Open Source"]
    shipped["models"][0]["upstream_model"] = "llama3.1:8b"
    shipped["family_order"] = ["Open Source"]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(shipped))
    catalog = load_catalog(path)
    assert catalog.models[0].id == "gloo-meta-llama-3.1-8b-instruct"
    assert catalog.models[0].upstream_model == "llama3.1:8b"


@pytest.mark.parametrize("content", ["not json", '{"version": 1, "family_order": [], "models": [{"id": "x"}]}'])
def test_invalid_catalog_file_gives_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CatalogError, match="invalid model catalog"):
        load_catalog(path)


def test_missing_catalog_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="HOMILY_CATALOG"):
        load_catalog(tmp_path / "missing.json")


def test_server_serves_the_override(tmp_path: Path) -> None:
    import httpx

    shipped = json.loads((Path(__file__).parents[1] / "src/homily/catalog/models.json").read_text())
    shipped["models"] = shipped["models"][:3]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(shipped))
    live = start_homily(make_settings(tmp_path / "data", catalog_path=path))
    try:
        ids = [m["id"] for m in httpx.get(live.base_url + "/platform/v2/models").json()["data"]]
    finally:
        live.stop()
    assert ids == [m["id"] for m in shipped["models"]]
