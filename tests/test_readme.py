"""README.md's examples work as written: its `homily` commands parse, and its OpenAI SDK code runs against a live
Homily (only the base URL and the token are swapped in, as a reader would)."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from homily.cli.main import build_parser
from homily.embeddings import load_local_embedder
from homily.fakes.openai_upstream import FakeOpenAIUpstream
from homily.grounding.library import library_embedding_text, write_library
from tests.support.live import LiveHomily

README = Path(__file__).resolve().parents[1] / "README.md"
README_BASE_URL = "http://127.0.0.1:8000"


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)


def homily_commands() -> list[list[str]]:
    """Every `homily ...` invocation in the README's bash blocks (one per line or `&&` segment)."""
    segments = [
        segment
        for block in code_blocks("bash")
        for line in block.replace("\\\n", " ").splitlines()
        for segment in line.split("&&")
    ]
    return [shlex.split(segment, comments=True)[1:] for segment in segments if segment.strip().startswith("homily ")]


def test_the_readme_has_homily_commands_and_sdk_code() -> None:
    assert len(homily_commands()) >= 5
    assert len(code_blocks("python")) >= 2


@pytest.mark.parametrize("argv", homily_commands(), ids=" ".join)
def test_readme_homily_commands_parse(argv: list[str]) -> None:
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"`homily {' '.join(argv)}` is not a valid command: {errors.getvalue()} (exit {exc.code})")


_CREED = (
    "I believe in God, the Father almighty, creator of heaven and earth. I believe in Jesus Christ, God's only Son, "
    "our Lord, who was conceived by the Holy Spirit, born of the Virgin Mary, suffered under Pontius Pilate, was "
    "crucified, died, and was buried."
)


@pytest.fixture(scope="module")
def homily_overrides(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A shared library of one work, the Apostles' Creed, for the grounded example (the packaged one is larger)."""
    directory = tmp_path_factory.mktemp("library")
    chunk: dict[str, Any] = {"text": _CREED, "heading_path": [], "char_start": 0, "char_end": len(_CREED)}
    chunk["token_count"] = 60
    row: dict[str, Any] = {"item_id": "creed", "title": "Apostles' Creed", "author": None, "tags": []}
    row |= {"tradition": "not_faith_specific", "source": "test", "filename": "creed.txt", "chunks": [chunk]}
    vectors = np.asarray(load_local_embedder().embed([library_embedding_text("Apostles' Creed", chunk)]), np.float32)
    write_library(directory, [row], vectors, model="all-MiniLM-L6-v2")
    return {"load_library": True, "library_dir": directory}


def _wait_for_the_library(homily: LiveHomily, token: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        found = httpx.post(
            f"{homily.base_url}/ai/data/v1/search",
            headers={"Authorization": f"Bearer {token}"},
            json={"query": "Jesus Christ", "tenant": "GlooGrounded"},
        )
        if found.status_code == 200 and found.json()["data"]:
            return
        assert time.monotonic() < deadline, found.text
        time.sleep(0.2)


def test_readme_sdk_examples_run_against_a_live_server(
    homily: LiveHomily, upstream: FakeOpenAIUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = homily.token()
    monkeypatch.setenv("TOKEN", token)
    _wait_for_the_library(homily, token)
    namespace: dict[str, object] = {}
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            for block in code_blocks("python"):
                code = compile(block.replace(README_BASE_URL, homily.base_url), str(README), "exec")
                exec(code, namespace)  # noqa: S102
    finally:  # the README's client is never closed: left to the garbage collector, its pooled socket could be
        # finalised before the client and raise an unclosed-socket ResourceWarning at the end of the session
        close = getattr(namespace.get("client"), "close", None)
        if callable(close):
            close()
    output = printed.getvalue()
    assert "You said: Explain the Beatitudes in two sentences." in output
    assert re.search(r"^gloo-\S+ tier_[123] 0\.\d+$", output, flags=re.MULTILINE)
    assert "You said: Hi" in output
    assert "You said: What does the Apostles Creed say about Jesus?" in output
    assert "\n1 Apostles' Creed\n" in output
    assert upstream.stats().requests == 4
