"""Access changes told to every replica over a real Redis (`homily.auth.invalidation`): a revocation or an
allow-list change made through one replica's registry (or the admin CLI) reaches the others at once, long before
their timed refresh (set to a minute here, so only the announcement can explain a fast change)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import redis as redis_sync

from homily.admin.service import AdminService, IssuedCredential
from homily.auth.invalidation import CHANNEL, AccessChange, decode, encode
from homily.auth.registry import CredentialRegistry
from homily.cli.main import main
from homily.metrics import Metrics
from homily.redis_backend import ERRORS_METRIC, open_redis
from homily.settings import Settings
from homily.storage.base import Store
from homily.storage.factory import open_store
from homily.wiring import open_credential_registry
from tests.support.live import make_settings
from tests.support.services import free_port

MODEL = "gloo-openai-gpt-5-mini"
ONLY_MODEL = frozenset({MODEL})
SLOW_REFRESH = 60.0
PROMPT = 1.0
"""How soon another replica must apply a change (it takes a few milliseconds here)."""


async def wait_until(condition: Callable[[], bool], within: float) -> float:
    """Seconds until `condition` held; fails after `within` seconds."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > within:
            raise AssertionError(f"not true within {within} s")
        await asyncio.sleep(0.005)
    return time.monotonic() - start


Body = Callable[[Store, list[CredentialRegistry], IssuedCredential, Metrics], Awaitable[None]]


def with_replicas(settings: Settings, body: Body, count: int = 2) -> None:
    """`count` registries, each with its own Redis client as a separate replica would have, over one store."""

    async def run() -> None:
        store = await open_store(settings)
        metrics = Metrics()
        try:
            admin = AdminService(store)
            organisation = await admin.create_organisation("parish")
            issued = await admin.create_credential(organisation.org_id)
            async with AsyncExitStack() as stack:
                registries = []
                for _ in range(count):
                    client = open_redis(settings.redis_url or "")
                    stack.push_async_callback(client.aclose)
                    registries.append(await open_credential_registry(settings, store, client, metrics, stack))
                await body(store, registries, issued, metrics)
        finally:
            await store.close()

    asyncio.run(run())


def test_a_revocation_through_one_replica_reaches_the_other_at_once(redis_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, redis_url=redis_url, revocation_refresh_seconds=SLOW_REFRESH)

    async def body(store: Store, replicas: list[CredentialRegistry], issued: IssuedCredential, _: Metrics) -> None:
        first, second = replicas
        assert second.org_of(issued.client_id) == issued.org_id
        admin = AdminService(store, on_revoke=first.revoke, on_allowed_models=first.set_allowed_models)
        await admin.set_credential_disabled(issued.client_id, True)
        assert first.org_of(issued.client_id) is None
        await wait_until(lambda: second.org_of(issued.client_id) is None, PROMPT)
        assert await second.resolve(issued.client_id) is None

    with_replicas(settings, body)


def test_an_allow_list_change_through_one_replica_reaches_the_others_at_once(redis_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, redis_url=redis_url, revocation_refresh_seconds=SLOW_REFRESH)

    async def body(store: Store, replicas: list[CredentialRegistry], issued: IssuedCredential, _: Metrics) -> None:
        first = replicas[0]
        admin = AdminService(store, on_revoke=first.revoke, on_allowed_models=first.set_allowed_models)
        assert all(r.allowed_models(issued.org_id) is None for r in replicas)
        await admin.set_allowed_models(issued.org_id, [MODEL])
        await wait_until(lambda: all(r.allowed_models(issued.org_id) == ONLY_MODEL for r in replicas), PROMPT)
        await admin.set_allowed_models(issued.org_id, None)
        await wait_until(lambda: all(r.allowed_models(issued.org_id) is None for r in replicas), PROMPT)

    with_replicas(settings, body, count=3)


def test_a_replica_cut_off_from_redis_reloads_everything_when_it_resubscribes(
    redis_url: str, tmp_path: Path
) -> None:
    """Messages sent while a subscription is down are lost; resubscribing reloads, so nothing waits a minute."""
    settings = make_settings(tmp_path, redis_url=redis_url, revocation_refresh_seconds=SLOW_REFRESH)

    async def body(store: Store, replicas: list[CredentialRegistry], issued: IssuedCredential, m: Metrics) -> None:
        (replica,) = replicas
        assert await store.set_allowed_models(issued.org_id, [MODEL])  # behind every replica's back
        admin = redis_sync.Redis.from_url(redis_url)
        try:
            assert admin.client_kill_filter(_type="pubsub") == 1
        finally:
            admin.close()
        await wait_until(lambda: replica.allowed_models(issued.org_id) == ONLY_MODEL, 3.0)
        assert m.counter(ERRORS_METRIC, (("operation", "subscribe"),)) == 1.0

    with_replicas(settings, body, count=1)


def test_without_a_reachable_redis_a_replica_starts_and_keeps_its_timer(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0", revocation_refresh_seconds=0.05
    )

    async def body(store: Store, replicas: list[CredentialRegistry], issued: IssuedCredential, m: Metrics) -> None:
        (replica,) = replicas
        admin = AdminService(store, on_revoke=replica.revoke)
        await admin.delete_credential(issued.client_id)  # publishing fails quietly
        await asyncio.sleep(0.01)
        assert m.counter(ERRORS_METRIC, (("operation", "subscribe"),)) >= 1.0
        assert m.counter(ERRORS_METRIC, (("operation", "publish"),)) == 1.0
        assert await store.set_allowed_models(issued.org_id, [MODEL])
        await wait_until(lambda: replica.allowed_models(issued.org_id) == ONLY_MODEL, 2.0)

    with_replicas(settings, body, count=1)


def test_the_admin_cli_announces_its_changes(
    redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data_dir = str(tmp_path / "data")
    assert main(["init", "--data-dir", data_dir, "--json"]) == 0
    issued = json.loads(capsys.readouterr().out)
    monkeypatch.setenv("HOMILY_REDIS_URL", redis_url)
    listener = redis_sync.Redis.from_url(redis_url).pubsub()
    try:
        listener.subscribe(CHANNEL)
        assert listener.get_message(timeout=1.0) is not None  # the subscription's confirmation
        assert main(["admin", "credential", "disable", issued["client_id"], "--data-dir", data_dir]) == 0
        assert main(["admin", "org", "models", issued["org_id"], MODEL, "--data-dir", data_dir]) == 0
        heard = [listener.get_message(timeout=1.0) for _ in range(2)]
    finally:
        listener.close()
    changes = [decode(message["data"])[1] for message in heard if message is not None]
    assert changes == [AccessChange(client_id=issued["client_id"]), AccessChange(org_id=issued["org_id"])]


def test_messages_round_trip_and_unreadable_ones_mean_reload_everything() -> None:
    change = AccessChange(client_id="cli_1")
    assert decode(encode(change, "origin-1")) == ("origin-1", change)
    assert decode(b"not json") == (None, AccessChange())
    assert decode(b'["a list"]') == (None, AccessChange())
    assert decode(b'{"client_id": 7, "org_id": "org_1"}') == (None, AccessChange(org_id="org_1"))
