"""The `Watchdog` of a blocking PostgreSQL pool (`homily.storage.postgres.deadline`): one thread keeps the deadlines
of every use, severs the connection of a use that overruns its budget and of no other, starts with the first use
and stops on close. Real connections to the test server; the stalled-server behaviour is in test_pg_stall.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from homily.grounding.pg_index import PostgresChunkIndex
from homily.storage.postgres.deadline import StalledError, Watchdog
from tests.support.services import PostgresServer

Connect = Callable[[], psycopg.Connection[tuple[object, ...]]]


@pytest.fixture
def connect(postgres_server: PostgresServer) -> Iterator[Connect]:
    opened: list[psycopg.Connection[tuple[object, ...]]] = []

    def new() -> psycopg.Connection[tuple[object, ...]]:
        connection = psycopg.connect(postgres_server.url(), autocommit=True)
        opened.append(connection)
        return connection

    yield new
    for connection in opened:
        connection.close()


@pytest.fixture
def watchdog() -> Iterator[Watchdog]:
    running = Watchdog("test")
    yield running
    running.close()


def _watchdog_threads(name: str = "homily-watchdog-test") -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == name]


def _answers(connection: psycopg.Connection[tuple[object, ...]]) -> bool:
    return connection.execute("SELECT 1").fetchone() == (1,)


def _overrun(watchdog: Watchdog, connection: psycopg.Connection[tuple[object, ...]], seconds: float) -> float:
    """Run a 5 s statement within `seconds`: it must fail with `StalledError`; the seconds it took."""
    started = time.monotonic()
    with (
        pytest.raises(
            StalledError, match=rf"at the test database \(HOMILY_DATABASE_URL\) did not answer within {seconds:g} s"
        ),
        watchdog.watched(connection, seconds, "the test database"),
    ):
        connection.execute("SELECT pg_sleep(5)")
    return time.monotonic() - started


def test_a_use_past_its_deadline_is_severed_promptly_and_its_connection_closed(
    watchdog: Watchdog, connect: Connect
) -> None:
    connection = connect()
    assert _overrun(watchdog, connection, 0.3) < 2
    assert connection.closed


def test_a_finished_use_never_fires(watchdog: Watchdog, connect: Connect) -> None:
    connection = connect()
    for _ in range(50):
        with watchdog.watched(connection, 1.0, "db"):  # ample on a loaded machine
            assert _answers(connection)
    deadline = watchdog.arm(connection, 0.05)
    watchdog.disarm(deadline)
    time.sleep(1.2)  # past every deadline above
    assert not deadline.severed
    assert not connection.closed
    assert _answers(connection)


def test_no_budget_means_no_deadline_and_no_thread(watchdog: Watchdog, connect: Connect) -> None:
    connection = connect()
    with watchdog.watched(connection, None, "db"):
        connection.execute("SELECT pg_sleep(0.3)")
    assert not watchdog.running
    assert watchdog.pending == 0


def test_the_thread_starts_with_the_first_use_and_close_stops_it_and_drops_pending_deadlines(
    watchdog: Watchdog, connect: Connect
) -> None:
    connection = connect()
    assert not watchdog.running
    assert _watchdog_threads() == []
    deadline = watchdog.arm(connection, 0.3)
    assert watchdog.running
    assert len(_watchdog_threads()) == 1
    watchdog.close()
    assert not watchdog.running
    assert _watchdog_threads() == []
    time.sleep(0.5)
    assert not deadline.severed
    assert _answers(connection)
    _overrun(watchdog, connection, 0.2)  # a use after close starts it again
    assert len(_watchdog_threads()) == 1
    watchdog.close()
    assert _watchdog_threads() == []


def test_an_earlier_deadline_is_kept_while_a_later_one_is_pending(watchdog: Watchdog, connect: Connect) -> None:
    slow, stalled = connect(), connect()
    long_running = watchdog.arm(slow, 60.0)
    time.sleep(0.2)  # the thread now sleeps until that one ...
    assert _overrun(watchdog, stalled, 0.3) < 2  # ... and is woken for this one
    watchdog.disarm(long_running)
    assert not long_running.severed
    assert _answers(slow)


def test_many_concurrent_uses_share_one_thread_and_only_the_overrun_is_severed(
    watchdog: Watchdog, connect: Connect
) -> None:
    workers, uses = 6, 150
    connections = [connect() for _ in range(workers)]
    stalled = connect()
    failures: list[BaseException] = []
    overrun: list[BaseException] = []

    def work(connection: psycopg.Connection[tuple[object, ...]]) -> None:
        try:
            for _ in range(uses):
                with watchdog.watched(connection, 2.0, "db"):  # ample on a loaded machine
                    assert _answers(connection)
        except BaseException as exc:  # reported below
            failures.append(exc)

    def overrun_use() -> None:
        try:
            with watchdog.watched(stalled, 0.3, "db"):
                stalled.execute("SELECT pg_sleep(5)")
        except BaseException as exc:  # the expected StalledError, checked below
            overrun.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in connections]
    threads.append(threading.Thread(target=overrun_use))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(2.2)  # past every deadline armed above
    assert failures == []
    assert len(overrun) == 1
    assert isinstance(overrun[0], StalledError)
    assert stalled.closed
    assert all(_answers(connection) for connection in connections)
    assert len(_watchdog_threads()) == 1


def test_disarmed_deadlines_do_not_pile_up_behind_a_long_one(watchdog: Watchdog, connect: Connect) -> None:
    connection, batch = connect(), connect()
    long_running = watchdog.arm(batch, 60.0)
    for _ in range(10_000):
        watchdog.disarm(watchdog.arm(connection, 60.0))
    assert watchdog.pending <= 2 * 64 + 1
    watchdog.disarm(long_running)
    assert _answers(connection)
    assert _answers(batch)


def test_a_chunk_index_starts_no_thread_per_use_and_stops_its_watchdog_on_close(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = len(_watchdog_threads("homily-watchdog-chunks"))  # other tests' indexes may still be open
    index = PostgresChunkIndex.open(postgres_url, 384)
    try:
        assert index.count() == 0
        assert len(_watchdog_threads("homily-watchdog-chunks")) == before + 1
        started: list[str] = []
        start = threading.Thread.start

        def counted(thread: threading.Thread) -> None:
            started.append(thread.name)
            start(thread)

        monkeypatch.setattr(threading.Thread, "start", counted)
        for _ in range(50):  # each: a checkout, its check and the use, all with deadlines
            assert index.count() == 0
        monkeypatch.undo()
        assert started == []
    finally:
        index.close()
    assert len(_watchdog_threads("homily-watchdog-chunks")) == before
