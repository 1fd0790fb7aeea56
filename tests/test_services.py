"""The test servers themselves: a real PostgreSQL with pgvector and a real Redis, isolated per test."""

from __future__ import annotations

import psycopg
import redis


def test_postgres_has_pgvector_and_a_fresh_database_per_test(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        row = connection.execute("SELECT '[1,0,0]'::vector <=> '[0,1,0]'::vector").fetchone()
        assert row is not None
        assert abs(row[0] - 1.0) < 1e-9
        tables = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        connection.execute("CREATE TABLE leftover (x int)")


def test_databases_do_not_leak_between_tests(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as connection:
        row = connection.execute("SELECT to_regclass('leftover')").fetchone()
        assert row == (None,)


def test_redis_starts_empty_for_each_test(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.dbsize() == 0
        client.set("homily-test-key", "1")
        assert client.get("homily-test-key") == b"1"
    finally:
        client.close()


def test_redis_flushed_between_tests(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.get("homily-test-key") is None
    finally:
        client.close()
