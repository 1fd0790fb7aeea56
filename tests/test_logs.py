"""The JSON log configuration `homily serve` installs (run in a subprocess: it replaces the root handlers)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from homily.logs import RepeatedWarnings

SCRIPT = """
import logging
from homily.logs import configure_logging
configure_logging("info")
logging.getLogger("python_multipart.multipart").warning("Did not find boundary character")
logging.getLogger("homily.content").warning("ingestion is behind")
for attempt in range(5):  # what each pool says twice a second while PostgreSQL is down
    logging.getLogger("psycopg.pool").warning("error connecting in %r: %s", "homily-store", f"refused {attempt}")
logging.getLogger("psycopg.pool").warning("reconnection attempt in pool %r failed after %s sec", "homily-store", 2)
"""


def test_client_made_multipart_warnings_stay_out_of_the_log_and_homilys_own_go_in() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60)
    entries = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [(entry["logger"], entry["message"]) for entry in entries] == [
        ("homily.content", "ingestion is behind"),
        ("psycopg.pool", "error connecting in 'homily-store': refused 0"),
        ("psycopg.pool", "reconnection attempt in pool 'homily-store' failed after 2 sec"),
    ]
    assert entries[0]["level"] == "warning"


def _record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.makeLogRecord({"name": name, "msg": msg, "args": args, "levelno": logging.WARNING})


def test_a_repeated_driver_warning_is_logged_once_per_interval_with_the_number_left_out() -> None:
    now = [0.0]
    quiet = RepeatedWarnings(("psycopg.pool",), interval=30.0, clock=lambda: now[0])
    passed = []
    for second in range(61):
        now[0] = float(second)
        for _ in range(2):
            record = _record("psycopg.pool", "error connecting in %r: %s", "homily-store", "refused")
            if quiet.filter(record):
                passed.append((second, getattr(record, "repeats_left_out", 0)))
    assert passed == [(0, 0), (30, 59), (60, 59)]
    assert quiet.filter(_record("homily.storage.postgres", "postgres ping failed"))
    assert quiet.filter(_record("homily.storage.postgres", "postgres ping failed"))
    assert quiet.filter(_record("psycopg.pool.sub", "another message"))
    assert not quiet.filter(_record("psycopg.pool.sub", "another message"))
