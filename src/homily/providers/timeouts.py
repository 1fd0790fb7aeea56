"""Upstream timeouts, kept separate because each guards a different failure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UpstreamTimeouts:
    """`connect`: TCP/TLS setup; `first_byte`: until response headers; `idle`: longest silence between body chunks."""

    connect: float = 5.0
    first_byte: float = 60.0
    idle: float = 60.0
