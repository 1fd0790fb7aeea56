"""Two live Homily replicas on one PostgreSQL database (and one Redis), each with a data directory of its own, as
behind a load balancer: a token issued by one is accepted by the other (the signing key lives in the database),
content uploaded through one is ingested once and searched, changed and deleted through the other, and a grounded
answer cites it. A database outage is a retryable error envelope, never a traceback for the client."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from homily.fakes.openai_upstream import FakeOpenAIUpstream
from homily.settings import Settings
from homily.wiring import warn_about_replica_settings
from tests.support.content import wait_for_statuses
from tests.support.http import assert_envelope, auth_headers
from tests.support.live import LiveHomily, make_settings, serve_homily, start_homily
from tests.support.services import PostgresServer

PUBLIC_URL = "https://homily.example.org"
"""Replicas behind one load balancer share the public URL: it is the tokens' issuer."""

CLOCK = "The sexton winds the tower clock of Saint Kessog's every Saturday at dawn with a brass crank."


def _replica_settings(data_dir: Path, postgres_url: str, redis_url: str, upstream: FakeOpenAIUpstream) -> Settings:
    return make_settings(
        data_dir,
        database_url=postgres_url,
        redis_url=redis_url,
        public_url=PUBLIC_URL,
        openai_api_key="sk-upstream-test",
        openai_base_url=upstream.base_url,
    )


@pytest.fixture
def replicas(
    postgres_url: str, redis_url: str, fake_openai: FakeOpenAIUpstream, tmp_path: Path
) -> Iterator[tuple[LiveHomily, LiveHomily]]:
    first = start_homily(_replica_settings(tmp_path / "first", postgres_url, redis_url, fake_openai))
    second_settings = _replica_settings(tmp_path / "second", postgres_url, redis_url, fake_openai)
    second = serve_homily(second_settings, first.credential)
    yield first, second
    second.stop()
    first.stop()


def _client(live: LiveHomily, token: str) -> httpx.Client:
    return httpx.Client(base_url=live.base_url, headers=auth_headers(token), timeout=120)


def test_a_token_from_one_replica_is_accepted_by_the_other(replicas: tuple[LiveHomily, LiveHomily]) -> None:
    first, second = replicas
    assert not (second.settings.data_dir / "signing.key").exists()
    token = first.token()
    assert httpx.get(second.base_url + "/ai/v2/models", headers=auth_headers(token)).status_code == 200
    assert httpx.get(first.base_url + "/ai/v2/models", headers=auth_headers(second.token())).status_code == 200
    assert_envelope(httpx.get(second.base_url + "/ai/v2/models", headers=auth_headers(token + "x")), 401, 1002)


def test_content_uploaded_through_one_replica_is_served_by_the_other(
    replicas: tuple[LiveHomily, LiveHomily],
) -> None:
    first, second = replicas
    publisher = httpx.post(
        first.base_url + "/admin/v1/publishers",
        json={"org_id": first.credential.org_id, "name": "Parish Notes"},
        headers=first.admin_headers(),
    ).json()
    token = first.token()
    with _client(first, token) as one, _client(second, token) as other:
        uploaded = one.post(
            "/ingestion/v1/real_time_upload",
            json={"content": CLOCK, "publisher_id": publisher["publisher_id"], "producer_id": "clock-1",
                  "item_title": "Clock"},
        )  # fmt: skip
        assert uploaded.status_code == 200, uploaded.text
        item_id = uploaded.json()["item_id"]
        rows = wait_for_statuses(other, publisher["publisher_id"], [item_id])
        assert rows[item_id]["status"] == "COMPLETED"

        query = {"query": "who winds the tower clock with a brass crank", "tenant": "Parish Notes"}
        hits = other.post("/ai/data/v1/search", json=query).json()["data"]
        assert hits[0]["item_id"] == item_id

        patched = other.patch(
            "/engine/v2/item",
            json={"publisher_id": publisher["publisher_id"], "producer_id": "clock-1", "item_title": "Tower Clock"},
        )
        assert patched.status_code == 200, patched.text
        assert one.post("/ai/data/v1/search", json=query).json()["data"][0]["item_title"] == "Tower Clock"

        grounded = other.post(
            "/ai/v2/chat/completions/grounded",
            json={"messages": [{"role": "user", "content": "Who winds the tower clock, and when?"}],
                  "auto_routing": True, "rag_publisher": "Parish Notes", "include_citations": True},
        )  # fmt: skip
        assert grounded.status_code == 200, grounded.text
        assert grounded.json()["sources_returned"] is True
        citation = grounded.json()["citations"][0]
        assert (citation["item_id"], citation["item_title"], citation["publisher"]) == (
            item_id, "Tower Clock", "Parish Notes"
        )  # fmt: skip
        assert "brass crank" in " ".join(citation["snippets"])

        deleted = other.request("DELETE", "/engine/v2/items", json={"item_ids": [item_id]}).json()
        assert deleted["results"][0] == {"item_id": item_id, "deleted": True}
        assert all(hit["item_id"] != item_id for hit in one.post("/ai/data/v1/search", json=query).json()["data"])
        assert_envelope(one.get(f"/engine/v2/items/{item_id}"), 404, 1004)


def test_a_database_outage_is_a_retryable_error_envelope(
    postgres_server: PostgresServer, fake_openai: FakeOpenAIUpstream, tmp_path: Path
) -> None:
    import psycopg

    with postgres_server.fresh_database() as url:
        live = start_homily(make_settings(tmp_path / "data", database_url=url))
        try:
            listed = httpx.get(live.base_url + "/admin/v1/organisations", headers=live.admin_headers())
            assert listed.status_code == 200
            database = url.rsplit("/", 1)[1]
            with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            # The pool waits for a connection for a few seconds before it gives up.
            failed = httpx.get(live.base_url + "/admin/v1/organisations", headers=live.admin_headers(), timeout=60)
            error = assert_envelope(failed, 500, 3001)
            assert error["retryable"] is True
            assert "database" in error["message"]
            assert httpx.get(live.base_url + "/readyz", timeout=60).status_code == 503
        finally:
            live.stop()


def test_a_replica_says_which_settings_replicas_must_share(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    alone = make_settings(tmp_path, database_url="postgresql://db/homily", rate_limit_per_minute=60)
    with caplog.at_level(logging.WARNING, logger="homily.wiring"):
        warn_about_replica_settings(alone)
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "set the same HOMILY_PUBLIC_URL" in messages
    assert "set HOMILY_REDIS_URL to share one budget" in messages
    caplog.clear()
    shared = make_settings(
        tmp_path, database_url="postgresql://db/homily", rate_limit_per_minute=60, public_url=PUBLIC_URL,
        redis_url="redis://cache:6379/0",
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="homily.wiring"):
        warn_about_replica_settings(shared)
    assert caplog.records == []
