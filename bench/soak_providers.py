"""Soak: tens of thousands of mixed requests, a share of them faulty, through the Anthropic and Gemini adapters.

    python -m bench.soak_providers [--requests 50000] [--concurrency 32] [--out FILE]

Both fake upstreams run in background threads of this process; every request goes through `FallbackExecutor`
(retries, circuit breakers, fallback to the other provider) over one pooled session per upstream, as in the server.
About 40% of requests meet an injected fault: HTTP 500, 429 with Retry-After, malformed JSON, truncated or aborted
streams, oversized bodies, hangs before headers and mid-stream, refused connections. Resident memory, open file
descriptors and open upstream connections are sampled every `--sample-every` requests: flat numbers after warm-up
mean nothing accumulates per request.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import orjson
from rich.console import Console

from bench import soak_stats
from bench.soak_stats import Sample, open_fds, rss_kib, unused_port
from homily.errors import HomilyError
from homily.fakes.anthropic_upstream import AnthropicUpstream
from homily.fakes.google_upstream import GoogleUpstream
from homily.fakes.script import FakeToolCall, Reply
from homily.fakes.server import FakeUpstream
from homily.protocol.chat import ChatMessage
from homily.providers.anthropic import AnthropicAdapter
from homily.providers.circuit import CircuitBreaker
from homily.providers.fallback import Candidate, FallbackExecutor
from homily.providers.google import GoogleAdapter
from homily.providers.http import new_session
from homily.providers.retry import Retrier, RetryPolicy
from homily.providers.timeouts import UpstreamTimeouts
from homily.providers.types import ProviderAdapter, ProviderRequest, UpstreamModel

TIMEOUTS = UpstreamTimeouts(connect=1.0, first_byte=0.3, idle=0.3)
LIMIT = 64 * 1024
TEXT = "The Lord bless you and keep you; the Lord make his face shine on you and be gracious to you."
MODELS = {
    "anthropic": UpstreamModel("gloo-anthropic-claude-haiku-4.5", "claude-haiku-4-5", 8192),
    "google": UpstreamModel("gloo-google-gemini-2.5-flash", "gemini-2.5-flash", 8192),
}


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    weight: int
    reply: Reply | None
    streamed: bool
    refused: bool = False


KINDS = [
    Kind("ok_complete", 30, Reply(text=TEXT), False),
    Kind("ok_stream", 20, Reply(text=TEXT), True),
    Kind(
        "ok_tool_stream", 10, Reply(text=None, tool_calls=(FakeToolCall("lookup", '{"verse": "Numbers 6:24"}'),)), True
    ),
    Kind("http_500", 8, Reply(status=500), False),
    Kind("http_429", 6, Reply(status=429, retry_after="0"), True),
    Kind("malformed_json", 5, Reply(malformed_json=True), False),
    Kind("truncated_stream", 5, Reply(text=TEXT, truncate_after_events=0), True),
    Kind("abort_mid_stream", 5, Reply(text=TEXT, abort_after_events=4), True),
    Kind("oversized", 4, Reply(text=TEXT, oversized_bytes=2 * LIMIT), False),
    Kind("hang_before_headers", 3, Reply(delay_before_headers=5), False),
    Kind("hang_mid_stream", 2, Reply(text=TEXT, hang_after_events=4), True),
    Kind("refused", 2, None, False, refused=True),
]


class Soak:
    def __init__(self, fakes: dict[str, FakeUpstream], seed: int) -> None:
        self.fakes = fakes
        self.rng = random.Random(seed)
        self.outcomes: Counter[str] = Counter()
        self.samples: list[Sample] = []
        self.done = 0

    async def run(self, total: int, concurrency: int, sample_every: int) -> None:
        sessions = {name: new_session(TIMEOUTS, 64) for name in self.fakes}
        refused_session = new_session(TIMEOUTS, 4)
        adapters: dict[str, ProviderAdapter] = {
            "anthropic": AnthropicAdapter(
                sessions["anthropic"], self.fakes["anthropic"].url, "test-key", TIMEOUTS, max_response_bytes=LIMIT
            ),
            "google": GoogleAdapter(
                sessions["google"], self.fakes["google"].url, "test-key", TIMEOUTS, max_response_bytes=LIMIT
            ),
        }
        dead = AnthropicAdapter(refused_session, f"http://127.0.0.1:{unused_port()}", "k", TIMEOUTS)
        breakers = {name: CircuitBreaker(name, failure_threshold=50, reset_timeout=0.5) for name in adapters}
        executor = FallbackExecutor(Retrier(RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.05)))
        weights = [kind.weight for kind in KINDS]
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(total):
            queue.put_nowait(index)
        started = time.monotonic()

        def candidates(primary: str, kind: Kind) -> list[Candidate]:
            backup = "google" if primary == "anthropic" else "anthropic"
            first = dead if kind.refused else adapters[primary]
            return [
                Candidate(MODELS[primary], first, breakers[primary]),
                Candidate(MODELS[backup], adapters[backup], breakers[backup]),
            ]

        async def worker() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                kind = self.rng.choices(KINDS, weights)[0]
                primary = "anthropic" if index % 2 else "google"
                if kind.reply is not None:
                    self.fakes[primary].push(kind.reply)
                request = ProviderRequest(model=MODELS[primary], messages=[ChatMessage(role="user", content=TEXT)])
                self.outcomes[await self._one(executor, request, candidates(primary, kind), kind.streamed)] += 1
                self.done += 1
                if self.done % sample_every == 0:
                    self._sample(started)

        gc.collect()
        self._sample(started)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        for session in (*sessions.values(), refused_session):
            await session.close()
        await asyncio.sleep(0.2)
        gc.collect()
        self._sample(started)

    async def _one(
        self, executor: FallbackExecutor, request: ProviderRequest, chain: list[Candidate], streamed: bool
    ) -> str:
        try:
            if not streamed:
                answered = await executor.complete(request, chain)
                return "fallback" if answered.fell_back else "answered"
            opened = await executor.stream(request, chain)
            try:
                async for _ in opened.result:
                    pass
            except HomilyError as error:
                return f"in_band:{error.name}"
            return "fallback" if opened.fell_back else "answered"
        except HomilyError as error:
            return f"error:{error.name}"

    def _sample(self, started: float) -> None:
        connections = sum(fake.open_connections for fake in self.fakes.values())
        self.samples.append(Sample(self.done, rss_kib(), open_fds(), connections, time.monotonic() - started))


def report(soak: Soak, total: int, console: Console) -> dict[str, object]:
    # The last sample is taken after the sessions closed; growth is judged on the one before it.
    final = soak.samples[-2] if len(soak.samples) > 1 else soak.samples[-1]
    return soak_stats.report(
        f"provider soak: {total} requests", soak.samples, soak.outcomes, total, console, final=final
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sample-every", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    console = Console()
    logging.basicConfig(level=logging.ERROR)
    with AnthropicUpstream() as anthropic, GoogleUpstream() as google:
        soak = Soak({"anthropic": anthropic, "google": google}, args.seed)
        asyncio.run(soak.run(args.requests, args.concurrency, args.sample_every))
    result = report(soak, args.requests, console)
    if args.out is not None:
        args.out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
