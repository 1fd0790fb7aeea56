"""Soak running replicas: mixed traffic at every replica while the operator injects faults, then check that nothing
accepted was lost.

    python -m bench.soak_replicas --replica http://127.0.0.1:28001 --replica http://127.0.0.1:28002 \\
        --credential cred.json --admin-secret S --database-url postgresql://homily@127.0.0.1:25432/homily \\
        --pid-file r1.pid --pid-file r2.pid [--duration 180] [--concurrency 12] [--out FILE]

The replicas, PostgreSQL, Redis and the fake upstream are started beforehand (see bench/README.md, "Replicas under
load and faults"): this script only drives them, so faults (`pg_ctl stop`, stopping Redis, SIGKILL of a replica)
can be injected from a shell while it runs. Each client task picks one replica at random per request and one
operation from `MIX`: completions (streamed or not), grounded completions and searches, uploads, real-time
uploads, content replacement, metadata edits, deletions, item lists, token issuance, and admin credential changes
(create, token on the other replica, disable or delete, then wait for that token to be refused there).

Every 5 s it samples each replica's RSS and open file descriptors (from `--pid-file`), the database's connections,
leased and unfinished items. At the end it waits for ingestion to drain and checks every item accepted with a 2xx
and not deleted is COMPLETED with exactly its chunk rows, that deleted items are gone and that no lease is left.
Any 5xx, a body with a traceback, or a failed connection is kept (up to 3,000) with its wall-clock time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from bench.soak_stats import open_fds, rss_kib

WORDS = (
    "grace",
    "mercy",
    "covenant",
    "psalm",
    "prayer",
    "shepherd",
    "lamb",
    "faith",
    "hope",
    "charity",
    "kingdom",
    "light",
    "bread",
    "wine",
    "water",
    "temple",
    "prophet",
    "river",
    "mountain",
    "desert",
    "garden",
    "harvest",
    "seed",
    "vine",
    "sabbath",
)
MIX = {
    "chat": 20,
    "chat_stream": 12,
    "grounded": 10,
    "grounded_stream": 5,
    "search": 5,
    "upload": 2,
    "rt_upload": 2,
    "replace": 1,
    "patch": 2,
    "delete": 2,
    "list": 3,
    "token": 6,
    "admin": 3,
}
"""Relative weights; uploads are kept rare enough for two replicas' ingestion to keep up on a small machine."""
MAX_KEPT_FAILURES = 3_000
UNFINISHED = "status IN ('QUEUED', 'CHUNKING', 'EMBEDDING')"


@dataclass
class Tally:
    """Everything the client tasks record (one event loop: no locking needed)."""

    started: float = field(default_factory=time.monotonic)
    outcomes: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[dict[str, Any]] = field(default_factory=list)
    accepted: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def record(self, op: str, replica: str, status: int, body: bytes, elapsed: float) -> None:
        self.outcomes[f"{op}:{status}"] += 1
        self.latencies[op].append(elapsed)
        if (status >= 500 or status == 0 or b"Traceback" in body) and len(self.failures) < MAX_KEPT_FAILURES:
            self.failures.append(
                {
                    "wall": time.strftime("%H:%M:%S"),
                    "op": op,
                    "replica": replica,
                    "status": status,
                    "seconds": round(elapsed, 2),
                    "body": body[:300].decode(errors="replace"),
                }
            )


@dataclass(frozen=True)
class Target:
    replicas: list[str]
    client_id: str
    client_secret: str
    org_id: str
    admin_secret: str
    publisher_id: str
    publisher_name: str


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)) + f" {uuid.uuid4().hex}"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": aiohttp.BasicAuth(client_id, secret).encode()}


class Client:
    """One client task's session state: a token per replica, fetched when missing."""

    def __init__(self, session: aiohttp.ClientSession, target: Target, tally: Tally, rng: random.Random) -> None:
        self.session = session
        self.target = target
        self.tally = tally
        self.rng = rng
        self.tokens: dict[str, str] = {}

    async def _token(self, replica: str, client_id: str, secret: str) -> str | None:
        started = time.monotonic()
        try:
            async with self.session.post(
                replica + "/oauth2/token", data={"grant_type": "client_credentials"}, headers=_basic(client_id, secret)
            ) as response:
                body, status = await response.read(), response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            body, status = repr(exc).encode(), 0
        self.tally.record("token", replica, status, body, time.monotonic() - started)
        return str(json.loads(body)["access_token"]) if status == 200 else None

    async def call(self, op: str, replica: str, method: str, path: str, **options: Any) -> tuple[int, bytes]:
        token = self.tokens.get(replica)
        if token is None:
            token = await self._token(replica, self.target.client_id, self.target.client_secret)
            if token is None:
                return 0, b""
            self.tokens[replica] = token
        started = time.monotonic()
        try:
            headers = {"Authorization": f"Bearer {token}"}
            async with self.session.request(method, replica + path, headers=headers, **options) as response:
                body, status = await response.read(), response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            body, status = repr(exc).encode(), 0
        self.tally.record(op, replica, status, body, time.monotonic() - started)
        return status, body

    async def step(self) -> None:
        replica = self.rng.choice(self.target.replicas)
        op = self.rng.choices(list(MIX), list(MIX.values()))[0]
        question = f"Tell me about {self.rng.choice(WORDS)} and {self.rng.choice(WORDS)}."
        messages = [{"role": "user", "content": question}]
        if op in ("chat", "chat_stream"):
            body = {"messages": messages, "model_family": "openai", "stream": op == "chat_stream"}
            await self.call(op, replica, "POST", "/ai/v2/chat/completions", json=body)
        elif op in ("grounded", "grounded_stream"):
            body = {"messages": messages, "model_family": "openai", "stream": op == "grounded_stream"}
            if self.rng.random() < 0.5:
                body["rag_publisher"] = self.target.publisher_name
            await self.call(op, replica, "POST", "/ai/v2/chat/completions/grounded", json=body)
        elif op == "search":
            body = {"query": self.rng.choice(WORDS), "tenant": self.target.publisher_name, "limit": 5}
            await self.call(op, replica, "POST", "/ai/data/v1/search", json=body)
        elif op in ("upload", "rt_upload"):
            await self._upload(op, replica)
        elif op in ("replace", "patch", "delete"):
            await self._change(op, replica)
        elif op == "list":
            await self.call(op, replica, "GET", f"/engine/v2/publisher/{self.target.publisher_id}/items")
        elif op == "token":
            self.tokens.pop(replica, None)
            token = await self._token(replica, self.target.client_id, self.target.client_secret)
            if token is not None:
                self.tokens[replica] = token
        else:
            await self._admin(replica)

    async def _upload(self, op: str, replica: str) -> None:
        if op == "upload":
            form = aiohttp.FormData()
            form.add_field("publisher_id", self.target.publisher_id)
            for _ in range(self.rng.randint(1, 3)):
                text = "# Notes\n\n" + _text(self.rng, 300)
                form.add_field("files", text.encode(), filename=f"n{uuid.uuid4().hex[:8]}.md")
            status, body = await self.call(op, replica, "POST", "/ingestion/v2/files", data=form)
            if 200 <= status < 300:
                self.tally.accepted.update(json.loads(body)["ingesting"])
            return
        content = {"content": _text(self.rng, 200), "publisher_id": self.target.publisher_id, "item_title": "rt"}
        status, body = await self.call(op, replica, "POST", "/ingestion/v1/real_time_upload", json=content)
        if 200 <= status < 300:
            self.tally.accepted.add(str(json.loads(body)["item_id"]))

    async def _change(self, op: str, replica: str) -> None:
        live = sorted(self.tally.accepted - self.tally.deleted)
        if not live:
            return
        item = self.rng.choice(live)
        if op == "replace":
            form = aiohttp.FormData()
            form.add_field("publisher_id", self.target.publisher_id)
            form.add_field("files", ("# Replaced\n\n" + _text(self.rng, 250)).encode(), filename="replaced.md")
            await self.call(op, replica, "POST", f"/ingestion/v2/files?update={item}", data=form)
        elif op == "patch":
            change = {"publisher_id": self.target.publisher_id, "item_id": item, "item_title": _text(self.rng, 3)}
            await self.call(op, replica, "PATCH", "/engine/v2/item", json=change)
        else:
            # Counted as deleted only when the response says so. A request cut off by a dying replica may still
            # have deleted the item: the check at the end reports such items as missing, for a person to look at.
            self.tally.deleted.add(item)
            status, body = await self.call(op, replica, "DELETE", "/engine/v2/items", json={"item_ids": [item]})
            if not (200 <= status < 300 and b'"deleted":true' in body):
                self.tally.deleted.discard(item)

    async def _admin(self, replica: str) -> None:
        """A credential created here, its token taken on another replica, then revoked here: the other replica
        must refuse the token within 6 s (`revocation_seen` latency; `revocation_not_seen_in_6s` otherwise)."""
        other = self.rng.choice([r for r in self.target.replicas if r != replica] or [replica])
        admin = {"Authorization": f"Bearer {self.target.admin_secret}"}
        started = time.monotonic()
        new = {"org_id": self.target.org_id, "name": "soak-" + uuid.uuid4().hex[:8]}
        status, raw = await self._admin_call(
            "admin_create", replica, "POST", "/admin/v1/credentials", headers=admin, body=new
        )
        if status not in (200, 201):
            return
        credential = json.loads(raw)
        client_id = credential["client_id"]
        token = await self._token(other, client_id, credential["client_secret"])
        path = f"/admin/v1/credentials/{client_id}"
        if self.rng.random() < 0.5:
            await self._admin_call("admin_disable", replica, "PATCH", path, headers=admin, body={"disabled": True})
        await self._admin_call("admin_delete", replica, "DELETE", path, headers=admin)
        if token is None:
            return
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self.session.get(
                    f"{other}/engine/v2/publisher/{self.target.publisher_id}/items",
                    headers={"Authorization": f"Bearer {token}"},
                ) as response:
                    await response.read()
                    if response.status in (401, 403):
                        self.tally.latencies["revocation_seen"].append(time.monotonic() - started)
                        return
            await asyncio.sleep(0.25)
        self.tally.outcomes["revocation_not_seen_in_6s"] += 1

    async def _admin_call(
        self, op: str, replica: str, method: str, path: str, *, headers: dict[str, str], body: object = None
    ) -> tuple[int, bytes]:
        started = time.monotonic()
        try:
            async with self.session.request(method, replica + path, headers=headers, json=body) as response:
                raw, status = await response.read(), response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raw, status = repr(exc).encode(), 0
        self.tally.record(op, replica, status, raw, time.monotonic() - started)
        return status, raw


def _process(pid_file: Path) -> tuple[int, int]:
    """(RSS MiB, open fds) of the process whose pid the file holds; (-1, -1) when it is not running."""
    try:
        pid = int(pid_file.read_text().strip())
        return rss_kib(pid) // 1024, open_fds(pid)
    except (OSError, ValueError):
        return -1, -1


async def _database(database_url: str) -> dict[str, int] | None:
    try:
        async with await psycopg.AsyncConnection.connect(database_url, connect_timeout=2, autocommit=True) as db:
            queries = {
                "pg_connections": "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()",
                "leased": "SELECT count(*) FROM items WHERE lease_owner IS NOT NULL",
                "unfinished": f"SELECT count(*) FROM items WHERE {UNFINISHED}",  # noqa: S608 - constant text
            }
            found: dict[str, int] = {}
            for name, sql in queries.items():
                row = await (await db.execute(sql)).fetchone()
                found[name] = int(row[0]) if row else 0
            return found
    except psycopg.Error:
        return None


async def _sample_forever(tally: Tally, pid_files: list[Path], database_url: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        sample: dict[str, Any] = {
            "wall": time.strftime("%H:%M:%S"),
            "t": round(time.monotonic() - tally.started),
            "requests": sum(tally.outcomes.values()),
        }
        for pid_file in pid_files:
            sample[pid_file.stem] = _process(pid_file)
        sample["database"] = await _database(database_url)
        tally.samples.append(sample)
        print(json.dumps(sample), flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 5)


async def _verify(database_url: str, tally: Tally, drain_seconds: float) -> dict[str, Any]:
    """Wait for ingestion to drain, then check what every accepted upload became."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as db:
        deadline = time.monotonic() + drain_seconds
        while True:
            row = await (await db.execute(f"SELECT count(*) FROM items WHERE {UNFINISHED}")).fetchone()  # noqa: S608
            unfinished = int(row[0]) if row else 0
            if unfinished == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
        ids = sorted(tally.accepted)
        rows = await (await db.execute("SELECT item_id, status FROM items WHERE item_id = ANY(%s)", (ids,))).fetchall()
        statuses = {str(item_id): str(status) for item_id, status in rows}
        mismatched = await (
            await db.execute(
                "SELECT i.item_id FROM items i LEFT JOIN chunks c USING (item_id) WHERE i.item_id = ANY(%s)"
                " AND i.status = 'COMPLETED' GROUP BY i.item_id, i.chunk_count HAVING count(c.rowid) <> i.chunk_count",
                (ids,),
            )
        ).fetchall()
        leased = await (await db.execute("SELECT count(*) FROM items WHERE lease_owner IS NOT NULL")).fetchone()
    live = [item for item in ids if item not in tally.deleted]
    return {
        "unfinished_after_drain": unfinished,
        "accepted": len(ids),
        "deleted": len(tally.deleted),
        "live_by_status": dict(Counter(statuses.get(item, "MISSING") for item in live)),
        "missing": [item for item in live if item not in statuses],
        "deleted_but_present": sum(1 for item in tally.deleted if item in statuses),
        "completed_with_wrong_chunk_rows": [str(row[0]) for row in mismatched],
        "leased": int(leased[0]) if leased else 0,
    }


async def _publisher(session: aiohttp.ClientSession, replica: str, admin_secret: str, org_id: str) -> dict[str, Any]:
    async with session.post(
        replica + "/admin/v1/publishers",
        headers={"Authorization": f"Bearer {admin_secret}"},
        json={"org_id": org_id, "name": "soak-" + uuid.uuid4().hex[:8]},
    ) as response:
        response.raise_for_status()
        publisher: dict[str, Any] = await response.json()
        return publisher


async def soak(args: argparse.Namespace, credential: dict[str, str]) -> dict[str, Any]:
    tally = Tally()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        publisher = await _publisher(session, args.replica[0], args.admin_secret, credential["org_id"])
        target = Target(
            args.replica,
            credential["client_id"],
            credential["client_secret"],
            credential["org_id"],
            args.admin_secret,
            publisher["publisher_id"],
            publisher["name"],
        )
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample_forever(tally, [Path(p) for p in args.pid_file], args.database_url, stop))
        end = time.monotonic() + args.duration

        async def client(seed: int) -> None:
            worker = Client(session, target, tally, random.Random(seed))
            while time.monotonic() < end:
                await worker.step()

        await asyncio.gather(*(client(args.seed + n) for n in range(args.concurrency)))
        elapsed = time.monotonic() - tally.started
        stop.set()
        await sampler
    requests = sum(count for key, count in tally.outcomes.items() if ":" in key)
    by_class: Counter[str] = Counter()
    for key, count in tally.outcomes.items():
        if ":" in key:
            status = key.rsplit(":", 1)[1]
            by_class["connection_failed" if status == "0" else status[0] + "xx"] += count
    return {
        "seconds": round(elapsed, 1),
        "requests": requests,
        "requests_per_second": round(requests / elapsed, 1),
        "by_class": dict(by_class),
        "outcomes": dict(sorted(tally.outcomes.items())),
        "p50_p99_seconds": {
            op: (round(sorted(values)[len(values) // 2], 3), round(sorted(values)[int(len(values) * 0.99)], 3))
            for op, values in sorted(tally.latencies.items())
            if values
        },
        "first_and_last_sample": [tally.samples[0], tally.samples[-1]] if tally.samples else [],
        "check": await _verify(args.database_url, tally, args.drain_seconds),
        "failures": tally.failures,
        "samples": tally.samples,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--replica", action="append", required=True, help="a replica's base URL (repeat)")
    parser.add_argument("--credential", required=True, help="the JSON `homily init --json` printed")
    parser.add_argument("--admin-secret", required=True)
    parser.add_argument("--database-url", required=True, help="the replicas' HOMILY_DATABASE_URL")
    parser.add_argument("--pid-file", action="append", default=[], help="a replica's pid file, for RSS and fds")
    parser.add_argument("--duration", type=float, default=180.0)
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--drain-seconds", type=float, default=300.0, help="longest wait for ingestion at the end")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = asyncio.run(soak(args, json.loads(Path(args.credential).read_text())))
    summary = {key: value for key, value in result.items() if key not in ("failures", "samples")}
    print(json.dumps(summary, indent=1))
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
