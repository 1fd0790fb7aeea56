"""Soak the whole gateway: tens of thousands of mixed requests, a share of them faulty, through a real Homily.

    python -m bench.soak_gateway [--requests 50000] [--concurrency 32] [--out FILE]

Homily runs as its own process (`homily init` + `homily serve`) with the OpenAI, Anthropic and Gemini settings
pointed at the fake upstreams, which run in this process and are scripted with faults (HTTP 500, 429, malformed
JSON, truncated and aborted streams, hangs before headers and mid-stream, an oversized body) on about 40% of
requests. Requests rotate through the three families, streamed and not. Homily's resident memory and open file
descriptors are sampled every `--sample-every` requests: flat numbers after warm-up mean nothing accumulates.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from rich.console import Console

from bench import soak_stats
from bench.soak_stats import Sample, open_fds, rss_kib, unused_port
from homily.fakes.anthropic_upstream import AnthropicUpstream
from homily.fakes.google_upstream import GoogleUpstream
from homily.fakes.openai_script import Behaviour
from homily.fakes.openai_script import FakeToolCall as OpenAIToolCall
from homily.fakes.openai_upstream import FakeOpenAIUpstream
from homily.fakes.script import FakeToolCall, Reply
from homily.fakes.server import FakeUpstream

REPO_ROOT = Path(__file__).resolve().parents[1]
KEY = "soak-upstream-key"
TEXT = "The Lord bless you and keep you; the Lord make his face shine on you and be gracious to you."
TOOLS = [
    {
        "type": "function",
        "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"v": {"type": "string"}}}},
    }
]

FAULTS: list[tuple[str, int, Reply | None]] = [
    ("ok", 60, None),
    ("ok_tool_call", 5, Reply(text=None, tool_calls=(FakeToolCall("lookup", '{"v": "Numbers 6:24"}'),))),
    ("http_500", 8, Reply(status=500)),
    ("http_429", 5, Reply(status=429, retry_after="0")),
    ("malformed_json", 5, Reply(malformed_json=True)),
    ("truncated_stream", 5, Reply(text=TEXT, truncate_after_events=0)),
    ("abort_mid_stream", 5, Reply(text=TEXT, abort_after_events=4)),
    ("hang_before_headers", 3, Reply(delay_before_headers=5)),
    ("hang_mid_stream", 2, Reply(text=TEXT, hang_after_events=4)),
    ("oversized", 2, Reply(text=TEXT, oversized_bytes=5 * 1024 * 1024)),
]


def openai_behaviour(reply: Reply) -> Behaviour:
    """The OpenAI fake's script for one of `FAULTS`' replies (the fields those replies use)."""
    if reply.oversized_bytes:
        return Behaviour(content="x" * reply.oversized_bytes, chunks=1)
    truncated = reply.truncate_after_events is not None
    return Behaviour(
        content=reply.text or "",
        tool_calls=tuple(OpenAIToolCall(call.name, call.arguments) for call in reply.tool_calls),
        status=reply.status,
        retry_after=reply.retry_after,
        malformed_json=reply.malformed_json,
        truncate="no_done" if truncated else None,
        abort_after_chunks=reply.abort_after_events,
        headers_delay=reply.delay_before_headers,
        chunk_delay=5.0 if reply.hang_after_events is not None else 0.0,
    )


class OpenAISoakFake:
    """The OpenAI fake behind the same `push` / `open_connections` / `url` the other fakes offer."""

    def __init__(self, fake: FakeOpenAIUpstream) -> None:
        self.fake = fake

    @property
    def url(self) -> str:
        return self.fake.base_url

    @property
    def open_connections(self) -> int:
        return self.fake.stats().open_connections

    def push(self, reply: Reply) -> None:
        self.fake.enqueue(openai_behaviour(reply))


SoakFake = FakeUpstream | OpenAISoakFake
FAMILIES = ("openai", "anthropic", "google")


class Gateway:
    """Homily as a child process of this script, stopped (by its own pid) on exit."""

    def __init__(self, workdir: Path, fakes: dict[str, SoakFake]) -> None:
        self.port = unused_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
        env.update(
            {
                "PYTHONPATH": str(REPO_ROOT / "src"),
                "HOMILY_DATA_DIR": str(workdir / "data"),
                "HOMILY_LOG_LEVEL": "ERROR",
                "HOMILY_UPSTREAM_FIRST_BYTE_TIMEOUT": "0.5",
                "HOMILY_UPSTREAM_IDLE_TIMEOUT": "0.5",
                "OPENAI_API_KEY": KEY,
                "OPENAI_BASE_URL": fakes["openai"].url,
                "ANTHROPIC_API_KEY": KEY,
                "ANTHROPIC_BASE_URL": fakes["anthropic"].url,
                "GEMINI_API_KEY": KEY,
                "GEMINI_BASE_URL": fakes["google"].url,
            }
        )
        init = subprocess.run(
            [sys.executable, "-m", "homily", "init", "--json"], env=env, cwd=workdir, capture_output=True, check=True
        )
        self.credential = json.loads(init.stdout)
        self.log = (workdir / "homily.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "homily", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            cwd=workdir,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    async def token(self) -> str:
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    pair = f"{self.credential['client_id']}:{self.credential['client_secret']}"
                    auth = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
                    async with session.post(
                        self.url + "/oauth2/token", data={"grant_type": "client_credentials"}, headers=auth
                    ) as response:
                        return str((await response.json())["access_token"])
                except aiohttp.ClientConnectionError:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        raise
                    await asyncio.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Soak:
    def __init__(self, gateway: Gateway, fakes: dict[str, SoakFake], seed: int) -> None:
        self.gateway = gateway
        self.fakes = fakes
        self.rng = random.Random(seed)
        self.outcomes: Counter[str] = Counter()
        self.samples: list[Sample] = []
        self.done = 0
        self.started = time.monotonic()

    async def run(self, total: int, concurrency: int, sample_every: int) -> None:
        token = await self.gateway.token()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        connector = aiohttp.TCPConnector(limit=concurrency)
        timeout = aiohttp.ClientTimeout(total=30)
        weights = [weight for _, weight, _ in FAULTS]
        remaining = iter(range(total))
        self.started = time.monotonic()
        self._sample()
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:

            async def worker() -> None:
                for index in remaining:
                    name, _, reply = self.rng.choices(FAULTS, weights)[0]
                    family = FAMILIES[index % len(FAMILIES)]
                    if reply is not None:
                        self.fakes[family].push(reply)
                    streamed = index % 4 >= 2
                    self.outcomes[await self._one(session, family, streamed, name)] += 1
                    self.done += 1
                    if self.done % sample_every == 0:
                        self._sample()

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        await asyncio.sleep(1.0)
        self._sample()

    async def _one(self, session: aiohttp.ClientSession, family: str, streamed: bool, fault: str) -> str:
        body: dict[str, Any] = {
            "messages": [{"role": "user", "content": TEXT}],
            "model_family": family,
            "stream": streamed,
            "max_tokens": 200,
        }
        if fault == "ok_tool_call":
            body["tools"] = TOOLS
        async with session.post(self.gateway.url + "/ai/v2/chat/completions", data=orjson.dumps(body)) as response:
            raw = await response.read()
        if response.status != 200:
            return f"http_{response.status}"
        if streamed:
            return "stream_in_band_error" if b'"finish_reason":"error"' in raw else "stream_ok"
        return "ok"

    def _sample(self) -> None:
        pid = self.gateway.process.pid
        connections = sum(fake.open_connections for fake in self.fakes.values())
        self.samples.append(
            Sample(self.done, rss_kib(pid), open_fds(pid), connections, time.monotonic() - self.started)
        )


def report(soak: Soak, total: int, console: Console) -> dict[str, object]:
    title = f"gateway soak: {total} requests (Homily process)"
    return soak_stats.report(title, soak.samples, soak.outcomes, total, console, final=soak.samples[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sample-every", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # clients hanging up on the fakes
    console = Console()
    with ExitStack() as stack:
        fakes: dict[str, SoakFake] = {
            "openai": OpenAISoakFake(stack.enter_context(FakeOpenAIUpstream(api_key=KEY, max_recorded=100))),
            "anthropic": stack.enter_context(AnthropicUpstream(api_key=KEY, max_recorded=100)),
            "google": stack.enter_context(GoogleUpstream(api_key=KEY, max_recorded=100)),
        }
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="homily-soak-")))
        gateway = Gateway(workdir, fakes)
        stack.callback(gateway.stop)
        soak = Soak(gateway, fakes, args.seed)
        asyncio.run(soak.run(args.requests, args.concurrency, args.sample_every))
        result = report(soak, args.requests, console)
    if args.out is not None:
        args.out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
