"""PostgreSQL `text` cannot hold NUL (U+0000), which SQLite stores and clients can send (a publisher id, an item
title, a document's text). Every Homily connection to PostgreSQL dumps Python strings with NUL replaced by U+FFFD,
the replacement character: a lookup of a value with NUL then finds nothing (as it found nothing on SQLite) instead
of failing, and stored text shows where the unprintable character was."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection, Connection
from psycopg.abc import Buffer
from psycopg.types.string import StrDumperUnknown

REPLACEMENT = "\ufffd"


class NulFreeStrDumper(StrDumperUnknown):
    """`str` parameters as PostgreSQL text (type left for the server to infer, as psycopg does), NUL replaced."""

    def dump(self, obj: str) -> Buffer | None:
        return super().dump(obj.replace("\x00", REPLACEMENT))


def nul_free_text(connection: Connection[Any]) -> None:
    """A sync pool's `configure`: this connection dumps strings through `NulFreeStrDumper`."""
    connection.adapters.register_dumper(str, NulFreeStrDumper)


async def nul_free_text_async(connection: AsyncConnection[Any]) -> None:
    """An async pool's `configure`: this connection dumps strings through `NulFreeStrDumper`."""
    connection.adapters.register_dumper(str, NulFreeStrDumper)
