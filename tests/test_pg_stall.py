"""A PostgreSQL that stalls without closing its connections (a frozen process, a network partition), simulated by
`StallProxy` between Homily and the test server: requests get the retryable database envelope within the
documented bound instead of waiting out the stall, the service answers again as soon as the stall ends (no
restart), and an upload accepted before the stall is still ingested. Budgets: `homily.storage.postgres.deadline`."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import httpx
import psycopg
import pytest

from homily.fakes.openai_upstream import FakeOpenAIUpstream
from homily.grounding.pg_index import PostgresChunkIndex
from homily.storage.postgres import DatabaseUnavailableError, PostgresStore
from homily.storage.postgres.deadline import CHECK_SECONDS, KEEPALIVES, REQUEST_SECONDS, StalledError
from homily.storage.postgres.pool import CHECKOUT_TIMEOUT_SECONDS, PostgresPool
from tests.support.content import bible_chapters, wait_for_statuses
from tests.support.http import assert_envelope, auth_headers
from tests.support.live import LiveHomily, make_settings, start_homily
from tests.support.services import PostgresServer
from tests.support.stall_proxy import StallProxy

BOUND_SECONDS = max(REQUEST_SECONDS, CHECKOUT_TIMEOUT_SECONDS + CHECK_SECONDS)
"""README "Outages": the longest a request waits on a stalled database (a statement already running is abandoned
after `REQUEST_SECONDS`; a checkout waits `CHECKOUT_TIMEOUT_SECONDS`, and the last check it starts may take
`CHECK_SECONDS`)."""
SLACK_SECONDS = 1.5
"""Scheduling on a loaded two-core machine."""
STALL_SECONDS = 12.0
"""A stall ends by itself after this long (longer than the bound): code that waits out stalls fails, never hangs."""
CLOCK = "The sexton winds the tower clock of Saint Kessog's every Saturday at dawn with a brass crank."


@pytest.fixture
def proxy(postgres_server: PostgresServer) -> Iterator[StallProxy]:
    with StallProxy(postgres_server.host, postgres_server.port) as running:
        yield running


def _timed(call: Callable[[], object]) -> tuple[float, object]:
    started = time.monotonic()
    try:
        outcome: object = call()
    except Exception as exc:  # reported with the timing
        outcome = exc
    return time.monotonic() - started, outcome


def _concurrently(calls: Mapping[str, Callable[[], object]]) -> dict[str, tuple[float, object]]:
    results: dict[str, tuple[float, object]] = {}

    def run(name: str, call: Callable[[], object]) -> None:
        results[name] = _timed(call)

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _retry_until_ok(call: Callable[[], httpx.Response], seconds: float = 10.0) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        response = call()
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_a_stalled_database_is_a_retryable_envelope_within_the_bound_and_service_resumes_after_it(
    postgres_url: str, proxy: StallProxy, fake_openai: FakeOpenAIUpstream, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path / "data",
        database_url=proxy.url(postgres_url),
        openai_api_key="sk-upstream-test",
        openai_base_url=fake_openai.base_url,
    )
    live = start_homily(settings)
    try:
        _stall_and_resume(live, proxy)
    finally:
        proxy.resume()
        live.stop()


def _stall_and_resume(live: LiveHomily, proxy: StallProxy) -> None:
    publisher = httpx.post(
        live.base_url + "/admin/v1/publishers",
        json={"org_id": live.credential.org_id, "name": "Parish Notes"},
        headers=live.admin_headers(),
    ).json()
    client = httpx.Client(base_url=live.base_url, headers=auth_headers(live.token()), timeout=BOUND_SECONDS + 5)

    def upload(content: str, producer: str) -> httpx.Response:
        return client.post(
            "/ingestion/v1/real_time_upload",
            json={"content": content, "publisher_id": publisher["publisher_id"], "producer_id": producer,
                  "item_title": producer},
        )  # fmt: skip

    clock = upload(CLOCK, "clock")
    assert clock.status_code == 200, clock.text
    wait_for_statuses(client, publisher["publisher_id"], [clock.json()["item_id"]], timeout=60)
    calls: dict[str, Callable[[], httpx.Response]] = {
        "token": lambda: httpx.post(
            live.base_url + "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(live.credential.client_id, live.credential.client_secret),
            timeout=BOUND_SECONDS + 5,
        ),
        "search": lambda: client.post("/ai/data/v1/search", json={"query": "tower clock", "tenant": "Parish Notes"}),
        "grounded": lambda: client.post(
            "/ai/v2/chat/completions/grounded",
            json={
                "messages": [{"role": "user", "content": "Who winds the tower clock?"}],
                "auto_routing": True,
                "rag_publisher": "Parish Notes",
            },
        ),
    }
    for name, call in calls.items():
        assert call().status_code == 200, name
    accepted = upload(bible_chapters("Ruth", range(1, 5)), "ruth")  # still being ingested when the stall begins
    assert accepted.status_code == 200, accepted.text

    proxy.stall(STALL_SECONDS)
    stalled = _concurrently(calls)
    proxy.resume()

    for name, (seconds, response) in stalled.items():
        assert isinstance(response, httpx.Response), f"{name}: {response!r} after {seconds:.1f} s"
        error = assert_envelope(response, 500, 3001)
        assert error["retryable"] is True, name
        assert "database" in error["message"], name
        assert seconds < BOUND_SECONDS + SLACK_SECONDS, f"{name} waited {seconds:.1f} s"
    for name, call in calls.items():  # the same process, no restart
        assert _retry_until_ok(call).status_code == 200, name
    rows = wait_for_statuses(client, publisher["publisher_id"], [accepted.json()["item_id"]], timeout=60)
    assert rows[accepted.json()["item_id"]]["status"] == "COMPLETED"
    client.close()


def test_a_store_query_on_a_stalled_server_fails_within_its_budget_and_the_pool_recovers(
    postgres_url: str, proxy: StallProxy
) -> None:
    async def scenario() -> None:
        store = PostgresStore(proxy.url(postgres_url))
        await store.open()
        try:
            organisation = await store.create_organisation("Stalled Parish")
            proxy.stall(STALL_SECONDS)
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailableError, match="HOMILY_DATABASE_URL"):
                await store.get_organisation(organisation.org_id)
            assert time.monotonic() - started < BOUND_SECONDS + SLACK_SECONDS
            proxy.resume()
            assert await store.get_organisation(organisation.org_id) == organisation
        finally:
            proxy.resume()
            await store.close()

    asyncio.run(scenario())


def test_a_chunk_index_search_on_a_stalled_server_fails_within_its_budget_and_recovers(
    postgres_url: str, proxy: StallProxy
) -> None:
    index = PostgresChunkIndex.open(proxy.url(postgres_url), 384)
    try:
        assert index.count() == 0
        proxy.stall(STALL_SECONDS)
        seconds, outcome = _timed(index.count)
        proxy.resume()
        assert isinstance(outcome, DatabaseUnavailableError), outcome
        assert seconds < BOUND_SECONDS + SLACK_SECONDS
        assert index.count() == 0
    finally:
        proxy.resume()
        index.close()


def test_a_statement_running_past_its_budget_is_abandoned_and_its_connection_never_reused(
    postgres_url: str,
) -> None:
    async def scenario() -> None:
        pool = PostgresPool(postgres_url, name="budget")
        await pool.open()
        try:
            abandoned: list[psycopg.AsyncConnection[tuple[object, ...]]] = []

            async def overrun() -> None:
                async with pool.connection(budget=0.3) as connection:
                    abandoned.append(connection)
                    await connection.execute("SELECT pg_sleep(3)")

            started = time.monotonic()
            with pytest.raises(StalledError, match=r"did not answer within 0\.3 s"):
                await overrun()
            assert time.monotonic() - started < 2
            assert abandoned[0].closed
            async with pool.connection(budget=None) as connection:  # long work with no deadline runs to its end
                assert connection is not abandoned[0]
                cursor = await connection.execute("SELECT 1 FROM pg_sleep(0.5)")
                assert await cursor.fetchone() == (1,)
        finally:
            await pool.close()

    asyncio.run(scenario())


def test_every_connection_has_tcp_keepalives_and_a_user_timeout(postgres_url: str) -> None:
    async def scenario() -> dict[str, str]:
        pool = PostgresPool(postgres_url, name="keepalives")
        await pool.open()
        try:
            async with pool.connection() as connection:
                parameters = connection.info.get_parameters()
                cursor = await connection.execute("SHOW idle_in_transaction_session_timeout")
                row = await cursor.fetchone()
                assert row == ("1min",)
                return parameters
        finally:
            await pool.close()

    parameters = asyncio.run(scenario())
    assert {name: parameters.get(name) for name in KEEPALIVES} == {
        name: str(value) for name, value in KEEPALIVES.items()
    }
