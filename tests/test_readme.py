"""README.md's examples work as written: its `homily` commands parse, and its OpenAI SDK code runs against a live
Homily (only the base URL and the token are swapped in, as a reader would)."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from homily.cli.main import build_parser
from homily.fakes.openai_upstream import FakeOpenAIUpstream
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


def test_readme_sdk_examples_run_against_a_live_server(
    homily: LiveHomily, upstream: FakeOpenAIUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN", homily.token())
    namespace: dict[str, object] = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for block in code_blocks("python"):
            exec(compile(block.replace(README_BASE_URL, homily.base_url), str(README), "exec"), namespace)  # noqa: S102
    output = printed.getvalue()
    assert "You said: Explain the Beatitudes in two sentences." in output
    assert re.search(r"^gloo-\S+ tier_[123] 0\.\d+$", output, flags=re.MULTILINE)
    assert "You said: Hi" in output
    assert upstream.stats().requests == 3
