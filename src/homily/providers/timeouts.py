"""The three deadlines every upstream call observes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UpstreamTimeouts:
    """Deadlines in seconds for one upstream call.

    `connect` bounds opening the TCP (and TLS) connection; `first_byte` bounds everything from sending the
    request to the first byte of the answer (the response headers and, for streams, the first event), which is
    where a model does its thinking; `idle` bounds every later gap between chunks. They are separate because a
    slow first token is normal and a silent stream after it is not, and a single total deadline would have to
    be too short for one or too long for the other.
    """

    connect: float
    first_byte: float
    idle: float

    def __post_init__(self) -> None:
        if min(self.connect, self.first_byte, self.idle) <= 0:
            raise ValueError("upstream timeouts must be positive")
