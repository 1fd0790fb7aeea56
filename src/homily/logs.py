"""Structured logging: one JSON object per line on stderr, with any `extra={...}` fields included."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({key: value for key, value in record.__dict__.items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


REPEAT_INTERVAL_SECONDS = 30.0
"""Shortest gap between two log lines of one repeated driver warning (`RepeatedWarnings`)."""

QUIETED_LOGGERS = ("psycopg.pool",)
"""Loggers whose repeated warnings are thinned: while PostgreSQL is down each pool warns of every failed
connection attempt, about two lines a second per replica, all alike (Homily's own warnings say the same once)."""


class RepeatedWarnings(logging.Filter):
    """Let through the first record of each (logger, message template) of `loggers` and then at most one every
    `interval` seconds; a line let through after others were left out carries their number as `repeats_left_out`.
    Records of other loggers pass untouched."""

    def __init__(
        self,
        loggers: tuple[str, ...] = QUIETED_LOGGERS,
        interval: float = REPEAT_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._loggers = loggers
        self._interval = interval
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._left_out: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not any(record.name == name or record.name.startswith(name + ".") for name in self._loggers):
            return True
        key = (record.name, str(record.msg))
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self._left_out[key] = self._left_out.get(key, 0) + 1
            return False
        self._last[key] = now
        left_out = self._left_out.pop(key, 0)
        if left_out:
            record.repeats_left_out = left_out
        return True


def configure_logging(level: str) -> None:
    """Route Homily's and uvicorn's loggers through one JSON handler at `level`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RepeatedWarnings())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # A malformed multipart body is the client's mistake and gets its 400; the parser's own warnings about it (one
    # per defect) would let any client fill the log.
    logging.getLogger("python_multipart").setLevel(logging.ERROR)
